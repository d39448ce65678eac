/** Child processes the tests and benchmarks start: stopping them politely, then for sure; running one unprivileged. */
import type { ChildProcess } from "node:child_process";

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Sends `signal`, waits up to `graceMs`, then SIGKILLs; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await done;
  clearTimeout(timer);
}

/**
 * `argv` as user nobody (uid 65534), for the "must run as root" checks. It keeps CAP_DAC_READ_SEARCH (ambient)
 * only so it can still read the checkout wherever that lies (a clone under /root or in a 0700 temp dir).
 */
export function asNobody(argv: string[]): string[] {
  const caps = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"];
  return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...caps, ...argv];
}
