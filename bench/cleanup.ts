// Undo actions run in reverse order on success, error and SIGINT, so no netns or process outlives the run.

import { setTimeout as sleep } from "node:timers/promises";
import { MISSED_EXIT_CODE, measuredCommit, type Target } from "./verdict.js";

interface Action {
  what: string;
  run: () => Promise<void>;
  /** Set once started: an undo already in flight is awaited, never started twice or skipped. */
  done?: Promise<void>;
}

export class Cleanup {
  private readonly actions: Action[] = [];

  /** Registers an undo action; the returned function runs it now (once; later calls await the same run). */
  add(what: string, run: () => Promise<void>): () => Promise<void> {
    const action: Action = { what, run };
    this.actions.push(action);
    return () => this.execute(action);
  }

  private execute(action: Action): Promise<void> {
    action.done ??= action
      .run()
      .catch((err: Error) => {
        process.stderr.write(`cleanup: ${action.what}: ${err.message}\n`);
      })
      .finally(() => {
        const i = this.actions.indexOf(action);
        if (i >= 0) this.actions.splice(i, 1);
      });
    return action.done;
  }

  /** Runs every action, newest first, including waiting for those another caller already started. */
  async runAll(): Promise<void> {
    for (let action = this.actions.at(-1); action; action = this.actions.at(-1)) await this.execute(action);
  }
}

/** Kills a process that is not our child (the agent's bpftrace) if it is still running as `comm`. */
export async function killIfStill(
  pid: number,
  comm: string,
  commOf: (pid: number) => Promise<string | undefined>,
) {
  for (let i = 0; i < 50 && (await commOf(pid)) === comm; i++) {
    try {
      process.kill(pid, i < 25 ? "SIGINT" : "SIGKILL");
    } catch {
      return;
    }
    await sleep(100);
  }
}

/**
 * Runs a benchmark's `main` and exits: cleans up once on success, error, SIGINT or SIGTERM (a second signal or
 * the interrupted run's error waits for it), then exits 1 if `leftovers` finds anything of the run still alive.
 * `main` returns its targets: the verdict is printed last, and a missed target exits MISSED_EXIT_CODE.
 */
export function runBench(
  name: string,
  main: (cleanup: Cleanup) => Promise<readonly Target[]>,
  leftovers: () => Promise<string[]>,
  describeError: (err: Error) => string = (err) => err.stack ?? err.message,
): void {
  const cleanup = new Cleanup();
  let exiting = false;
  const shutdown = async (code: number, why?: string): Promise<never> => {
    if (exiting) return new Promise<never>(() => {});
    exiting = true;
    if (why) process.stderr.write(`${name}: ${why}\n`);
    await cleanup.runAll();
    const left = await leftovers();
    if (left.length > 0) {
      process.stderr.write(`${name}: left after cleanup: ${left.join(", ")}\n`);
      process.exit(1);
    }
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => void shutdown(130, `${signal}: cleaning up`));
  }
  process.on("uncaughtException", (err) => void shutdown(1, err.stack ?? err.message));
  process.on("unhandledRejection", (err) => void shutdown(1, String((err as Error)?.stack ?? err)));
  main(cleanup).then(
    (targets) => {
      const missed = targets.filter((t) => !t.held);
      process.stdout.write(
        `\nVerdict (${measuredCommit()}): ${missed.length === 0 ? `all ${targets.length} targets held` : `${missed.length} of ${targets.length} targets MISSED: ${missed.map((t) => t.name).join("; ")}`}\n`,
      );
      return shutdown(missed.length === 0 ? 0 : MISSED_EXIT_CODE);
    },
    (err: Error) => shutdown(1, describeError(err)),
  );
}
