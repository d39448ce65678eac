/**
 * Connections made at a scheduled rate and closed first (each leaves a TIME_WAIT socket with its maker), paced
 * by the clock rather than by timer ticks: on a loaded machine a late tick catches up, so the rate holds. The
 * rate follows a piecewise-linear schedule, so one process can hold a pod steady and then ramp it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Pod } from "./netns-pods.js";

/** [ms since start, connections per second] points, rising in time; linear between them, flat after the last. */
export type RateSchedule = readonly (readonly [number, number])[];

/** The result a churn prints when stopped (SIGTERM). */
export interface PacedChurnResult {
  made: number;
  closed: number;
  failed: number;
}

/**
 * `node -e` source; argv: host port schedule-JSON. Prints {} once running and its result on SIGTERM. At most 256
 * connections in flight: a peer that stops answering slows it down instead of piling sockets up.
 */
export const PACED_CHURN_SCRIPT = `
const net = require("node:net");
const host = process.argv[1], port = Number(process.argv[2]), schedule = JSON.parse(process.argv[3]);
const due = (t) => {
  let n = 0;
  for (let i = 0; i < schedule.length; i++) {
    const [t0, r0] = schedule[i];
    if (t <= t0) break;
    const next = schedule[i + 1];
    const end = next ? Math.min(t, next[0]) : t;
    const rEnd = next ? r0 + ((next[1] - r0) * (end - t0)) / (next[0] - t0) : r0;
    n += ((end - t0) * (r0 + rEnd)) / 2000;
  }
  return Math.floor(n);
};
const start = Date.now();
const result = { made: 0, closed: 0, failed: 0 };
let inFlight = 0;
setInterval(() => {
  const target = due(Date.now() - start);
  while (result.made < target && inFlight < 256) {
    result.made++;
    inFlight++;
    const s = net.connect(port, host, () => s.end());
    let failed = false;
    s.on("error", () => { failed = true; });
    s.on("close", () => { inFlight--; if (failed) result.failed++; else result.closed++; });
    s.resume();
  }
}, 20);
process.on("SIGTERM", () => { process.stdout.write(JSON.stringify(result) + "\\n"); process.exit(0); });
console.log("{}");`;

/** `node -e` argv of a churn toward host:port (run it where the churn's sockets should be). */
export function pacedChurnArgv(host: string, port: number, schedule: RateSchedule): string[] {
  return [process.execPath, "-e", PACED_CHURN_SCRIPT, host, String(port), JSON.stringify(schedule)];
}

export interface PacedChurn {
  child: ChildProcess;
  /** SIGTERMs the churn and returns what it did. */
  stop(): Promise<PacedChurnResult>;
}

/** Runs `argv` (a paced churn's) as `child` and resolves once it runs. */
export async function watchPacedChurn(child: ChildProcess): Promise<PacedChurn> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const first = await lines.next();
  if (first.done) throw new Error("paced churn exited before it ran");
  let stopped: Promise<PacedChurnResult> | undefined;
  return {
    child,
    stop() {
      stopped ??= (async () => {
        child.kill("SIGTERM");
        const last = await lines.next();
        await exited;
        if (last.done) throw new Error("paced churn exited without its result");
        return JSON.parse(last.value) as PacedChurnResult;
      })();
      return stopped;
    },
  };
}

/** A churn from inside `pod`'s netns toward host:port. */
export function startPacedChurn(
  pod: Pick<Pod, "netns">,
  host: string,
  port: number,
  schedule: RateSchedule,
): Promise<PacedChurn> {
  const child = spawn("ip", ["netns", "exec", pod.netns, ...pacedChurnArgv(host, port, schedule)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return watchPacedChurn(child);
}
