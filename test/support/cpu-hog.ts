/**
 * A deliberate CPU load for tests that must hold on a busy machine: `n` busy-looping shells at nice 0 (one per
 * core), killed by their pids on stop (and when the test process exits, so a failing test leaves none behind).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism } from "node:os";

export interface CpuHog {
  stop(): Promise<void>;
}

export function startCpuHog(n = availableParallelism()): CpuHog {
  const children: ChildProcess[] = [];
  const kill = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  };
  process.once("exit", kill);
  for (let i = 0; i < n; i++) children.push(spawn("sh", ["-c", "while :; do :; done"], { stdio: "ignore" }));
  return {
    async stop() {
      const exited = children.map(
        (c) =>
          new Promise<void>((resolve) =>
            c.exitCode !== null || c.signalCode !== null ? resolve() : c.once("exit", () => resolve()),
          ),
      );
      kill();
      process.removeListener("exit", kill);
      await Promise.all(exited);
    },
  };
}
