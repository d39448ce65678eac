// Typed wrappers that run traffic.mjs inside a pod netns and return its JSON result.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { exec, type Pod } from "./pod-network.js";

export const TRAFFIC_SCRIPT = fileURLToPath(new URL("./traffic.mjs", import.meta.url));
/** Raw SYNs from an address nobody owns: half-open connections (python3, root). */
export const SYN_BURST_SCRIPT = fileURLToPath(new URL("./syn-burst.py", import.meta.url));

export interface ClientResult {
  ok: number;
  failed: number;
  /** Failure count per error code, e.g. { ECONNREFUSED: 3 }. */
  errors: Record<string, number>;
}

export interface ChurnResult {
  /** Connections that were established and fully closed (the benchmark's ground truth). */
  connections: number;
  failed: number;
  errors: Record<string, number>;
}

export interface ServerHandle {
  /** Actual listening port (useful with port 0). */
  port: number;
  pid: number;
  /** SIGTERMs the server and returns how many connections it accepted. */
  stop(): Promise<{ accepted: number }>;
}

type Target = Pick<Pod, "netns">;

// Servers still running when the test process exits are killed, so a failing test leaves no orphans.
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

async function runJson<T>(pod: Target, args: string[], timeoutMs: number, signal?: AbortSignal): Promise<T> {
  const out = await exec(pod, [process.execPath, TRAFFIC_SCRIPT, ...args], { timeoutMs, signal });
  const last = out.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as T;
}

export async function startServer(
  pod: Target,
  host: string,
  port: number,
  opts: { hold?: boolean; backlog?: number; timeoutMs?: number } = {},
): Promise<ServerHandle> {
  const args = ["netns", "exec", pod.netns, process.execPath, TRAFFIC_SCRIPT, "server"];
  args.push("--host", host, "--port", String(port), ...(opts.hold ? ["--hold"] : []));
  if (opts.backlog !== undefined) args.push("--backlog", String(opts.backlog));
  const child = spawn("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  exited.then(() => live.delete(child));
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  // stdout lines: {"listening":true,"port":N} first, {"accepted":N} after SIGTERM.
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextJson = async (what: string, ms: number): Promise<Record<string, unknown>> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`traffic server in ${pod.netns}: no ${what} in ${ms} ms`)),
        ms,
      );
    });
    try {
      const line = await Promise.race([lines.next(), timeout]);
      if (line.done)
        throw new Error(`traffic server in ${pod.netns} exited before ${what}: ${stderr.trim()}`);
      return JSON.parse(line.value) as Record<string, unknown>;
    } finally {
      clearTimeout(timer);
    }
  };

  let ready: Record<string, unknown>;
  try {
    ready = await nextJson("listening", opts.timeoutMs ?? 10_000);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  let stopped: Promise<{ accepted: number }> | undefined;
  return {
    port: Number(ready.port ?? port),
    pid: child.pid ?? -1,
    stop() {
      stopped ??= (async () => {
        // `ip netns exec` execs node in place, so the signal reaches the server itself.
        child.kill("SIGTERM");
        try {
          return { accepted: Number((await nextJson("accepted", 5_000)).accepted) };
        } finally {
          child.kill("SIGKILL"); // no-op if it already exited
          await exited;
        }
      })();
      return stopped;
    },
  };
}

export interface ClientOptions {
  host: string;
  port: number;
  count: number;
  concurrency?: number;
  mode?: "close-first" | "reset" | "refused";
  /** Per attempt (connect + close) inside the script; a slower attempt fails with ETIMEDOUT. Default 10 s. */
  attemptTimeoutMs?: number;
  /** Whole-run timeout; the script is SIGKILLed after it. */
  timeoutMs?: number;
}

export function runClient(pod: Target, o: ClientOptions): Promise<ClientResult> {
  const args = ["client", "--host", o.host, "--port", String(o.port), "--count", String(o.count)];
  args.push("--concurrency", String(o.concurrency ?? 1), "--mode", o.mode ?? "close-first");
  if (o.attemptTimeoutMs) args.push("--timeout", String(o.attemptTimeoutMs));
  return runJson<ClientResult>(pod, args, o.timeoutMs ?? 60_000);
}

export interface ChurnOptions {
  host: string;
  port: number;
  seconds: number;
  concurrency: number;
  /** At most this many connections per second, evenly paced. */
  rate?: number;
  timeoutMs?: number;
  /** Aborting stops the churn at once (its result is lost). */
  signal?: AbortSignal;
}

export function runChurn(pod: Target, o: ChurnOptions): Promise<ChurnResult> {
  const args = ["churn", "--host", o.host, "--port", String(o.port), "--seconds", String(o.seconds)];
  args.push("--concurrency", String(o.concurrency));
  if (o.rate !== undefined) args.push("--rate", String(o.rate));
  return runJson<ChurnResult>(pod, args, o.timeoutMs ?? (o.seconds + 30) * 1000, o.signal);
}

/** Sends `count` SYNs from `src` (an address nobody has) to dst:port from inside `pod`: half-open connections. */
export async function synBurst(
  pod: Target,
  src: string,
  dst: string,
  port: number,
  count: number,
): Promise<void> {
  await exec(pod, ["python3", SYN_BURST_SCRIPT, src, dst, String(port), String(count)]);
}
