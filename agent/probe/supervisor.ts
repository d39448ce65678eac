import { createInterface } from "node:readline";
import { execa, type ResultPromise } from "execa";
import type { Logger } from "pino";
import { Backoff } from "../../common/backoff.js";
import { classifyBpftraceStderr, type ProbeError } from "./probe-error.js";
import { type ProbeLine, parseProbeLine } from "./probe-line.js";
import { readTracepointMisses } from "./prog-stats.js";

export interface SupervisorOptions {
  /** Shown in logs and metrics: "transitions" or "events". */
  name: string;
  bpftrace: string;
  program: string;
  tracefs: string;
  /** The agent's own /proc: bpftrace is our child, so its pid is one of ours. */
  selfProc: string;
  logger: Logger;
  backoff?: { initialMs: number; maxMs: number; stableMs: number };
  /** How long bpftrace may take to run END and exit after SIGINT before it is killed. */
  stopTimeoutMs?: number;
}

export interface ProbeExit {
  code: number | undefined;
  signal: string | undefined;
  /** Probes had attached: counts up to the exit were being taken. */
  wasReady: boolean;
  /** The exit stop() asked for (no restart follows). */
  expected: boolean;
  error: ProbeError;
}

export interface ProbeListener {
  line(line: ProbeLine): void;
  ready(): void;
  exit(exit: ProbeExit): void;
}

const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000, stableMs: 60_000 };
// bpftrace 0.17 caps each map at 4096 keys; a busy node has far more (netns, cgroup, transition) keys.
const MAP_KEYS_MAX = "65536";
const STDERR_KEEP = 8192;

/**
 * Runs one bpftrace program and keeps it running: restarts it with exponential backoff when it exits, reports
 * when its probes are attached, and stops it on request (SIGINT, so END hands over the last counts).
 */
export class BpftraceSupervisor {
  private child: ResultPromise | undefined;
  private stopping = false;
  private ready = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly restartBackoff: Backoff;
  private startedAt = 0;
  private exited: Promise<void> = Promise.resolve();
  private missesOfDeadProcesses = 0;
  private missesOfCurrent = 0;
  restarts = 0;
  lastError: ProbeError | undefined;

  constructor(
    private readonly opts: SupervisorOptions,
    private readonly listener: ProbeListener,
  ) {
    this.restartBackoff = new Backoff(this.backoff);
  }

  private get backoff() {
    return this.opts.backoff ?? DEFAULT_BACKOFF;
  }

  get isReady(): boolean {
    return this.ready;
  }

  start(): void {
    this.stopping = false;
    if (this.child || this.restartTimer) return;
    this.spawn();
  }

  private spawn(): void {
    const { opts } = this;
    this.ready = false;
    this.startedAt = Date.now();
    this.missesOfCurrent = 0;
    const child = execa(opts.bpftrace, ["-B", "line", opts.program], {
      env: { BPFTRACE_MAP_KEYS_MAX: MAP_KEYS_MAX, BPFTRACE_MAX_MAP_KEYS: MAP_KEYS_MAX },
      buffer: false,
      reject: false,
      stdin: "ignore",
      // Killed with us if the agent dies without running stop(): no orphan keeps probes attached.
      cleanup: true,
      forceKillAfterDelay: false,
    });
    this.child = child;
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP);
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream, crlfDelay: Infinity });
    lines.on("line", (text) => {
      const line = parseProbeLine(text);
      if (line.type === "ready") {
        this.ready = true;
        opts.logger.info({ probe: opts.name, pid: child.pid }, "bpftrace probes attached");
        this.listener.ready();
      }
      this.listener.line(line);
    });
    const linesClosed = new Promise<void>((resolve) => lines.once("close", resolve));
    this.exited = (async () => {
      const result = await child;
      await linesClosed; // every line printed before the exit is delivered before the exit itself
      // With reject: false a failed spawn resolves to the error; its code says whether bpftrace exists at all.
      const notFound = (result as { code?: string }).code === "ENOENT";
      this.onExit(result.exitCode, result.signal, notFound ? `ERROR: ${opts.bpftrace} not found` : stderr);
    })();
  }

  private onExit(code: number | undefined, signal: string | undefined, stderr: string): void {
    const wasReady = this.ready;
    this.child = undefined;
    this.ready = false;
    this.missesOfDeadProcesses += this.missesOfCurrent;
    this.missesOfCurrent = 0;
    const error = classifyBpftraceStderr(stderr, this.opts.tracefs);
    if (this.stopping) {
      this.listener.exit({ code, signal, wasReady, error, expected: true });
      return;
    }
    this.restarts++;
    this.lastError = error;
    // A process that ran for a while earns a fresh backoff; one that keeps dying backs off further.
    if (wasReady && Date.now() - this.startedAt >= this.backoff.stableMs) this.restartBackoff.reset();
    const delay = this.restartBackoff.next();
    this.opts.logger.error(
      {
        probe: this.opts.name,
        code,
        signal,
        wasReady,
        err: error.message,
        errorCode: error.code,
        restartInMs: delay,
      },
      "bpftrace exited; restarting",
    );
    this.listener.exit({ code, signal, wasReady, error, expected: false });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) this.spawn();
    }, delay);
  }

  /** BPF recursion misses of the tracepoint program, summed over every bpftrace process this ran. */
  async kernelMissed(): Promise<number> {
    const pid = this.child?.pid;
    if (pid !== undefined) {
      const current = await readTracepointMisses(this.opts.selfProc, pid);
      if (current !== null && this.child?.pid === pid) this.missesOfCurrent = current;
    }
    return this.missesOfDeadProcesses + this.missesOfCurrent;
  }

  /** Stops bpftrace: SIGINT runs END (the last counts are printed), SIGKILL if it does not exit in time. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (!child) return;
    if (this.ready) await this.kernelMissed();
    child.kill("SIGINT");
    const timeout = setTimeout(() => child.kill("SIGKILL"), this.opts.stopTimeoutMs ?? 5000);
    await this.exited;
    clearTimeout(timeout);
  }
}
