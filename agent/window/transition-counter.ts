import type { Logger } from "pino";
import type { AgentMetrics } from "../agent-metrics.js";
import type { TransitionLedger } from "../gauges/transition-ledger.js";
import type { ProbeLine } from "../probe/probe-line.js";
import type { ProbeExit, ProbeListener } from "../probe/supervisor.js";
import type { NodeWindow } from "./node-window.js";

/**
 * Feeds the counting program's output into the window (and the ledger of flows the derived gauges come from):
 * counts go in as they arrive; a missing flush, lost output or a bpftrace exit marks the window incomplete
 * (never guessed over) and breaks the ledger's stream.
 */
export class TransitionCounter implements ProbeListener {
  private lastSeq: number | null = null;
  private loggedMalformed = new Set<string>();
  parseErrors = 0;
  lostEvents = 0;
  /** When the probes first attached (counting began); null until then. */
  countingSince: number | null = null;

  constructor(
    private readonly window: NodeWindow,
    private readonly logger: Logger,
    private readonly metrics: AgentMetrics,
    private readonly ledger?: TransitionLedger,
  ) {}

  line(line: ProbeLine): void {
    switch (line.type) {
      case "count":
        this.window.add(line.netns, line.oldState, line.newState, line.count, line.cgroup);
        this.ledger?.add(line.netns, line.oldState, line.newState, line.count);
        return;
      case "fin-wait2-timewait":
        this.ledger?.addFinWait2TimeWait(line.netns, line.count);
        return;
      case "destination":
        this.window.addDestination(line.netns, line.address, line.port, line.count, line.cgroup);
        return;
      case "flush-begin":
        if (!line.final && this.lastSeq !== null && line.seq !== this.lastSeq + 1)
          this.window.markIncomplete(`kernel flushes ${this.lastSeq + 1}..${line.seq - 1} were not received`);
        if (!line.final) this.lastSeq = line.seq;
        this.ledger?.flushBegin(line.seq, line.tickUs, line.final);
        return;
      case "flush-end":
        this.ledger?.flushEnd(line.seq);
        return;
      case "lost":
        // A lost print of the counting program may hold a map's counts: say so.
        this.lostEvents += line.events;
        this.window.markIncomplete(`bpftrace lost ${line.events} output events`);
        this.ledger?.breakStream();
        return;
      case "malformed":
        this.parseErrors++;
        this.metrics.parseErrors.inc();
        // Logged once per reason with the line, then only counted.
        if (!this.loggedMalformed.has(line.reason) && this.loggedMalformed.size < 100) {
          this.loggedMalformed.add(line.reason);
          this.logger.warn(
            { line: line.line, reason: line.reason },
            "unparsable bpftrace line (counted in parse_errors)",
          );
        }
        return;
      case "ready":
      case "event":
      case "ignored":
        return;
      default:
        line satisfies never;
    }
  }

  ready(): void {
    this.countingSince ??= Date.now();
    this.lastSeq = null;
    this.ledger?.start();
  }

  exit(exit: ProbeExit): void {
    this.lastSeq = null;
    this.ledger?.stop();
    if (exit.expected) return;
    this.metrics.bpftraceRestarts.inc();
    if (!exit.wasReady) return;
    this.window.markIncomplete(
      `bpftrace exited (${exit.signal ?? `code ${exit.code}`}) and was restarted: what it counted in the last 2 s before the exit is lost`,
    );
  }
}
