// Builds and runs the C churn generator (churn.c) inside pod network namespaces.
import { execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { exec, type Pod } from "../netns-lab/pod-network.js";
import { stopChild } from "../test/support/child-process.js";
import type { Cleanup } from "./cleanup.js";
import { BenchError } from "./options.js";

const execFileAsync = promisify(execFile);
// From dist-bench/bench/ back to the source tree: tsc does not copy the C file.
const SOURCE = fileURLToPath(new URL("../../bench/churn.c", import.meta.url));

export interface ClientResult {
  ok: number;
  failed: number;
  /** socket() failures: no connect was attempted, so the kernel saw no transition. */
  socketFailed: number;
  seconds: number;
  errors: Record<string, number>;
}

export interface ChurnServer {
  /** SIGTERM; returns how many connections the server accepted. */
  stop(): Promise<number>;
}

/** Compiles churn.c into `dir`; a missing compiler is a clear error, not a stack trace. */
export async function buildChurn(dir: string): Promise<string> {
  const bin = `${dir}/churn`;
  try {
    await execFileAsync("cc", ["-O2", "-Wall", "-o", bin, SOURCE]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") throw new BenchError("no C compiler: `cc` is needed to build bench/churn.c");
    throw new BenchError(`cc failed to build ${SOURCE}:\n${e.stderr ?? e.message}`);
  }
  return bin;
}

export async function startChurnServer(
  bin: string,
  pod: Pod,
  o: { ip: string; port: number; ports: number; workers: number },
  cleanup: Cleanup,
): Promise<ChurnServer> {
  const argv = ["netns", "exec", pod.netns, bin, "server", o.ip, String(o.port), String(o.ports)];
  const child = spawn("ip", [...argv, String(o.workers)], { stdio: ["ignore", "pipe", "inherit"] });
  const undo = cleanup.add(`churn server in ${pod.netns}`, () => stopChild(child, "SIGKILL", 1000));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (what: string): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error(`churn server in ${pod.netns} exited before printing ${what}`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  await next("listening");
  return {
    async stop() {
      // `ip netns exec` execs churn in place, so the signal reaches the server itself.
      child.kill("SIGTERM");
      const accepted = Number((await next("accepted")).accepted);
      await undo();
      return accepted;
    },
  };
}

export async function runChurnClient(
  bin: string,
  pod: Pod,
  o: { ip: string; port: number; ports: number; seconds: number; procs: number; rate: number },
): Promise<ClientResult> {
  const args = [bin, "client", o.ip, String(o.port), String(o.seconds), String(o.procs), String(o.rate)];
  const out = await exec(pod, [...args, String(o.ports)], { timeoutMs: (o.seconds + 60) * 1000 });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "") as ClientResult;
}
