// The two things being compared, behind one interface: tcpstate's agent (kernel-map counts) and the
// per-event baseline (bpftrace printf per event → Node).
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { readTracepointMisses } from "../agent/probe/prog-stats.js";
import { addCounters, type Counters, zeroCounters } from "../agent/wire/counters.js";
import { type NodeSummary, NodeSummarySchema, type PodEntry } from "../agent/wire/summary.js";
import type { Pod } from "../netns-lab/pod-network.js";
import { exited, stopChild } from "../test/support/child-process.js";
import type { BaselineCounts } from "./baseline-counter.js";
import { type Cleanup, killIfStill } from "./cleanup.js";
import { childrenNamed, commOf } from "./procfs.js";

const ROOT = new URL("../../", import.meta.url); // dist-bench/bench/ → repository root
const CLI = fileURLToPath(new URL("dist/cli/main.js", ROOT));
const EVENTS_BT = fileURLToPath(new URL("agent/probe/events.bt", ROOT));
const BASELINE_COUNTER = fileURLToPath(new URL("./baseline-counter.js", import.meta.url));

export interface Collected {
  /** Counts since mark() per pod, by pod name. */
  counts: Record<string, Counters>;
  /** Tracepoint runs the kernel skipped during the measurement (BPF recursion misses). */
  kernelMissed: number;
  /** Events bpftrace itself reported as lost ("Lost N events"). */
  reportedLost: number;
  notes: string[];
}

export interface CountingProcess {
  readonly nodePid: number;
  readonly bpftracePid: number;
  /** Right before the traffic: remembers where counting starts. */
  mark(): Promise<void>;
  /** After the traffic: waits until everything is counted; counts since mark(). */
  collect(): Promise<Collected>;
  stop(): Promise<void>;
}

function sub(a: Counters, b: Counters): Counters {
  const out = zeroCounters();
  addCounters(out, a);
  for (const k of Object.keys(out) as (keyof Counters)[]) out[k] -= b[k];
  return out;
}

function countsByName(pods: Pod[], counts: (pod: Pod) => Counters): Record<string, Counters> {
  return Object.fromEntries(pods.map((p) => [p.name, counts(p)]));
}

function isZero(c: Counters): boolean {
  return Object.values(c).every((v) => v === 0);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** `tcpstate agent --standalone` with `interval`-second windows; counts are the pods' `total` counters. */
export async function startAgent(pods: Pod[], cleanup: Cleanup, interval: number): Promise<CountingProcess> {
  const args = [CLI, "agent", "--standalone", "--interval", `${interval}s`, "--metrics-addr", "127.0.0.1:0"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let bpftracePid: number | undefined;
  const undo = cleanup.add("agent", async () => {
    await stopChild(child, "SIGTERM", 10_000);
    // SIGKILLed agents cannot stop their bpftrace: never leave one attached.
    if (bpftracePid !== undefined) await killIfStill(bpftracePid, "bpftrace", commOf);
  });

  const summaries: NodeSummary[] = [];
  const logs: string[] = [];
  let badLine: Error | undefined;
  createInterface({ input: child.stdout }).on("line", (line) => {
    try {
      summaries.push(NodeSummarySchema.parse(JSON.parse(line)));
    } catch (err) {
      badLine ??= new Error(`agent printed a line that is not a summary: ${line.slice(0, 200)}\n${err}`);
    }
  });
  const port = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stderr }).on("line", (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: unknown; port?: unknown };
        if (String(entry.msg).startsWith("serving") && typeof entry.port === "number") resolve(entry.port);
      } catch {}
    });
    void exited(child).then(() => reject(new Error(`agent exited before serving:\n${logs.join("\n")}`)));
  });
  const metricsPort = await withTimeout(port, 30_000, "agent start");
  const deadline = Date.now() + 30_000;
  for (let ready = false; !ready; ) {
    if (child.exitCode !== null) throw new Error(`agent exited before ready:\n${logs.join("\n")}`);
    if (Date.now() > deadline) throw new Error(`agent not ready within 30 s:\n${logs.join("\n")}`);
    const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
    ready = res?.status === 200;
    if (!ready) await sleep(200);
  }
  const [pid, ...more] = await childrenNamed(child.pid ?? -1, "bpftrace");
  if (pid === undefined || more.length > 0) throw new Error("cannot tell the agent's bpftrace process");
  bpftracePid = pid;

  const entry = (s: NodeSummary, pod: Pod): PodEntry | undefined =>
    s.pods.find((p) => p.owner.kind === "netns" && p.owner.name === pod.netns);
  const nextSummary = async (): Promise<NodeSummary> => {
    const n = summaries.length;
    const waits = (interval + 5) * 20;
    for (let i = 0; i < waits && summaries.length === n && !badLine; i++) await sleep(50);
    if (badLine) throw badLine;
    const s = summaries.at(-1);
    if (summaries.length === n || !s) throw new Error(`agent printed no summary within ${interval + 5} s`);
    return s;
  };
  let start: NodeSummary | undefined;

  return {
    nodePid: child.pid ?? -1,
    bpftracePid,
    async mark() {
      // A summary closed after readiness that already lists every (idle) pod is the starting point.
      let s = await nextSummary();
      while (!pods.every((p) => entry(s, p))) s = await nextSummary();
      start = s;
    },
    async collect() {
      const first = start;
      if (!first) throw new Error("collect() before mark()");
      const notes: string[] = [];
      // Counts reach a summary up to 2 s late (three 1 s maps rotate); wait for 4 s of windows and then
      // for one in which no pod counted anything.
      const minWindows = Math.max(2, Math.ceil(4 / interval));
      let last = await nextSummary();
      for (let i = 1; ; i++) {
        const quiet = pods.every((p) => {
          const e = entry(last, p);
          return e !== undefined && isZero(e.window);
        });
        if (i >= minWindows && quiet) break;
        if (i >= 20) {
          notes.push(`agent: pods still counting ${20 * interval} s after the traffic`);
          break;
        }
        last = await nextSummary();
      }
      const totals = (s: NodeSummary, p: Pod) => entry(s, p)?.total ?? zeroCounters();
      const since = (p: Pod) => sub(totals(last, p), totals(first, p));
      const restarts = last.health.bpftraceRestarts - first.health.bpftraceRestarts;
      if (restarts > 0) notes.push(`agent: bpftrace restarted ${restarts}×`);
      const incomplete = summaries.filter((s) => s.seq > first.seq && !s.complete);
      if (incomplete.length > 0) notes.push(`agent: ${incomplete.length} incomplete windows`);
      return {
        counts: countsByName(pods, since),
        kernelMissed: last.health.kernelMissed - first.health.kernelMissed,
        reportedLost: last.health.lostEvents - first.health.lostEvents,
        notes,
      };
    },
    stop: undo,
  };
}

/** The classic way: `bpftrace -B line events.bt | node baseline-counter.js`. */
export async function startBaseline(pods: Pod[], cleanup: Cleanup): Promise<CountingProcess> {
  const bpftrace = spawn("bpftrace", ["-B", "line", EVENTS_BT], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  bpftrace.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-4096);
  });
  const undoBpftrace = cleanup.add("baseline bpftrace", () => stopChild(bpftrace, "SIGINT", 5000));
  // bpftrace's stdout pipe goes straight to the counter process. Our copy is closed in the same tick, before
  // the event loop could read (and so steal) a single line from it.
  const counter: ChildProcess = spawn(process.execPath, [BASELINE_COUNTER], {
    stdio: [bpftrace.stdout, "pipe", "inherit"],
  });
  bpftrace.stdout.destroy();
  const undoCounter = cleanup.add("baseline counter", () => stopChild(counter, "SIGKILL", 1000));
  const out = createInterface({ input: counter.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const next = async (what: string): Promise<Record<string, unknown>> => {
    const line = await out.next();
    if (line.done) throw new Error(`baseline: no ${what} from the counter; bpftrace said:\n${stderr}`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  await withTimeout(next("ready"), 30_000, "baseline bpftrace start");
  const bpftracePid = bpftrace.pid ?? -1;
  let missesAtMark = 0;

  return {
    nodePid: counter.pid ?? -1,
    bpftracePid,
    async mark() {
      // Counts run from bpftrace's start, but the pods stay idle until the traffic: the same as from here.
      missesAtMark = (await readTracepointMisses("/proc", bpftracePid)) ?? 0;
    },
    async collect() {
      // Let bpftrace and the counter work off their backlog, then stop bpftrace: the counter reads to EOF.
      await sleep(4000);
      const missed = ((await readTracepointMisses("/proc", bpftracePid)) ?? 0) - missesAtMark;
      await undoBpftrace();
      const result = (await withTimeout(
        next("counts"),
        30_000,
        "baseline counter",
      )) as unknown as BaselineCounts;
      const of = (pod: Pod) => result.counts[String(pod.netnsInode)] ?? zeroCounters();
      const notes = result.malformed > 0 ? [`baseline: ${result.malformed} malformed lines`] : [];
      return {
        counts: countsByName(pods, of),
        kernelMissed: missed,
        reportedLost: result.lost,
        notes,
      };
    },
    async stop() {
      await undoBpftrace();
      await undoCounter();
    },
  };
}
