import type { Logger } from "pino";
import type { TransitionEvent } from "../wire/events.js";
import type { Owner } from "../wire/summary.js";
import type { ProbeLine } from "./probe-line.js";
import { BpftraceSupervisor } from "./supervisor.js";
import { tcpStateName } from "./tcp-state.js";
import { reportedNewState } from "./transition.js";

export interface EventStreamOptions {
  bpftrace: string;
  program: string;
  tracefs: string;
  selfProc: string;
  logger: Logger;
  /** Events delivered per second at most; the rest are dropped and counted. */
  maxPerSecond: number;
  node: string;
  ownerOf(inode: number): Owner;
  clock?: () => number;
}

type Subscriber = (event: TransitionEvent) => void;

/**
 * The per-event stream: a second bpftrace process (events.bt), run only while somebody listens, so the counts
 * (transitions.bt, in kernel maps) never depend on per-event delivery and cost nothing when nobody tails.
 */
export class EventStream {
  private readonly subscribers = new Set<Subscriber>();
  private readonly supervisor: BpftraceSupervisor;
  private readonly clock: () => number;
  private bucketSecond = 0;
  private bucketUsed = 0;
  dropped = 0;
  lost = 0;
  parseErrors = 0;

  constructor(private readonly opts: EventStreamOptions) {
    this.clock = opts.clock ?? Date.now;
    this.supervisor = new BpftraceSupervisor(
      {
        name: "events",
        bpftrace: opts.bpftrace,
        program: opts.program,
        tracefs: opts.tracefs,
        selfProc: opts.selfProc,
        logger: opts.logger,
      },
      { line: (line) => this.onLine(line), ready: () => {}, exit: () => {} },
    );
  }

  /** Starts the stream for `fn` (and bpftrace with the first subscriber); returns the unsubscribe function. */
  subscribe(fn: Subscriber): () => Promise<void> {
    this.subscribers.add(fn);
    if (this.subscribers.size === 1) this.supervisor.start();
    return async () => {
      this.subscribers.delete(fn);
      if (this.subscribers.size === 0) await this.supervisor.stop();
    };
  }

  private onLine(line: ProbeLine): void {
    if (line.type === "lost") this.lost += line.events;
    else if (line.type === "malformed") this.parseErrors++;
    if (line.type !== "event") return;
    const now = this.clock();
    const second = Math.floor(now / 1000);
    if (second !== this.bucketSecond) {
      this.bucketSecond = second;
      this.bucketUsed = 0;
    }
    if (this.bucketUsed >= this.opts.maxPerSecond) {
      this.dropped++;
      return;
    }
    this.bucketUsed++;
    const event: TransitionEvent = {
      time: now,
      node: this.opts.node,
      owner: this.opts.ownerOf(line.netns),
      netns: line.netns,
      cgroup: line.cgroup,
      from: tcpStateName(line.oldState),
      // FIN_WAIT2/CLOSING → CLOSE of a socket handed to a timewait sock shows as → TIME_WAIT, what it became.
      to: tcpStateName(reportedNewState(line.oldState, line.newState)),
      family: line.family,
      saddr: line.saddr,
      sport: line.sport,
      daddr: line.daddr,
      dport: line.dport,
    };
    for (const fn of this.subscribers) fn(event);
  }

  async stop(): Promise<void> {
    this.subscribers.clear();
    await this.supervisor.stop();
  }
}
