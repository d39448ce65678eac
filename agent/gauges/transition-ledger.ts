import { TcpState } from "../probe/tcp-state.js";

/** Slots of a flow vector: one per kernel state number (include/net/tcp_states.h, 1…12; slot 0 unused). */
export const STATE_SLOTS = 13;

/** One network namespace's transitions, summed since the ledger first saw it (never cleared). */
interface NetnsFlow {
  /** Per kernel state: entries − exits. A full socket's state gauge moves by exactly this between two instants. */
  net: Float64Array;
  /** Every transition counted. */
  transitions: number;
  /** Transitions that create or end a full socket (→ or from CLOSE): what moves sockstat's `inuse`. */
  churn: number;
  /** FIN_WAIT2 → CLOSE that left a FIN_WAIT2 timewait sock (not a TIME_WAIT one). */
  finWait2TimeWait: number;
}

/**
 * A moment of a socket-table (or sockstat) read lined up with the kernel's ticks. The tick after `startUs`
 * ends the interval the read began in; the flush that delivers the interval before it leaves the ledger at
 * "the netns as of the tick before the read": `net` is taken then. Once the flush that delivers the interval
 * holding `endUs` is in, the mark is resolved: `transitionsDuring` is what the netns did between the tick
 * before the read and the tick after it. 0 (quiet) means the read saw the netns exactly as `net` describes it.
 */
export interface LedgerMark {
  readonly inode: number;
  readonly startUs: number;
  /** Infinity until the read has finished (see TransitionLedger.mark). */
  endUs: number;
  readonly generation: number;
  /** "waiting" for ticks; "resolved"; "void": the count stream broke before it resolved. */
  state: "waiting" | "resolved" | "void";
  /** Sequence number of the first tick after startUs / endUs (-1 until it arrives). */
  startSeq: number;
  endSeq: number;
  /** Flows of the netns as of the tick before the read (null until taken). */
  net: Float64Array | null;
  transitionsAtStart: number;
  churnAtStart: number;
  /** Transitions of the netns from the tick before the read to the tick after it (valid once resolved). */
  transitionsDuring: number;
  churnDuring: number;
}

/**
 * Exact running flows of every netns's full-socket states, fed by the kernel counts (transitions.bt), and the
 * tick times that line reads up with them. Every full-socket state change passes through the tracepoint, so
 * a state's gauge at tick B = its gauge at tick A + the flows between them. Pure bookkeeping, no I/O.
 *
 * The flush with sequence s holds the events of the interval [tick s−2, tick s−1): a read that began between
 * ticks s−1 and s sees the netns as the flows through flush s leave it, plus whatever happened in the interval
 * the read ran in (flush s+1). A gap in the flushes, lost output or a bpftrace exit breaks the stream:
 * `generation` moves on, and every mark or baseline taken before is void.
 */
export class TransitionLedger {
  generation = 0;
  private live = false;
  private lastSeq = -1;
  private seq = -1;
  private readonly flows = new Map<number, NetnsFlow>();
  private marks: LedgerMark[] = [];

  /** Counts flow and ticks carry times: derived gauges can be kept. */
  get ready(): boolean {
    return this.live;
  }

  /** bpftrace's probes are attached (its BEGIN ran): counting starts now, continuously. */
  start(): void {
    this.breakStream();
    this.live = true;
  }

  /** bpftrace exited: nothing is counted until it starts again. */
  stop(): void {
    this.breakStream();
    this.live = false;
  }

  /** Some counts are missing (a flush or output was lost): what was derived before is void. */
  breakStream(): void {
    this.generation++;
    this.lastSeq = -1;
    for (const m of this.marks) m.state = "void";
    this.marks = [];
  }

  flushBegin(seq: number, tickUs: number | undefined, final: boolean): void {
    this.seq = seq;
    if (final || tickUs === undefined) {
      // END's hand-over: the last counts, no tick. bpftrace exits right after.
      if (!final) this.stop(); // a program that prints no tick times cannot line reads up
      return;
    }
    // Counting goes on from this tick; what missing flushes held is unknown.
    if (this.lastSeq >= 0 && seq !== this.lastSeq + 1) this.breakStream();
    this.lastSeq = seq;
    for (const m of this.marks) {
      if (m.startSeq < 0 && tickUs > m.startUs) m.startSeq = seq;
      if (m.endSeq < 0 && tickUs > m.endUs) m.endSeq = seq;
    }
  }

  /** `count` transitions old → new of sockets in netns `inode` (in the flush begun last). */
  add(inode: number, oldState: number, newState: number, count: number): void {
    if (oldState >= STATE_SLOTS || newState >= STATE_SLOTS) return;
    const f = this.flowOf(inode);
    // An accepted child is cloned from its listener and reported LISTEN → SYN_RECV: it comes from nothing.
    const from = oldState === TcpState.LISTEN && newState === TcpState.SYN_RECV ? TcpState.CLOSE : oldState;
    f.net[from] = (f.net[from] as number) - count;
    f.net[newState] = (f.net[newState] as number) + count;
    f.transitions += count;
    if ((from === TcpState.CLOSE) !== (newState === TcpState.CLOSE)) f.churn += count;
  }

  /** `count` FIN_WAIT2 timewait socks made in netns `inode` (their FIN_WAIT2 → CLOSE is counted by add). */
  addFinWait2TimeWait(inode: number, count: number): void {
    this.flowOf(inode).finWait2TimeWait += count;
  }

  private flowOf(inode: number): NetnsFlow {
    let f = this.flows.get(inode);
    if (!f) {
      f = { net: new Float64Array(STATE_SLOTS), transitions: 0, churn: 0, finWait2TimeWait: 0 };
      this.flows.set(inode, f);
    }
    return f;
  }

  flushEnd(seq: number): void {
    if (seq !== this.seq || this.marks.length === 0) return;
    let resolved = false;
    for (const m of this.marks) {
      if (m.state !== "waiting") {
        resolved = true; // voided by its reader (the read failed): dropped below
        continue;
      }
      const f = this.flows.get(m.inode);
      if (m.startSeq === seq) {
        m.net = f ? f.net.slice() : new Float64Array(STATE_SLOTS);
        m.transitionsAtStart = f?.transitions ?? 0;
        m.churnAtStart = f?.churn ?? 0;
      }
      if (m.endSeq >= 0 && seq === m.endSeq + 1 && m.net) {
        m.transitionsDuring = (f?.transitions ?? 0) - m.transitionsAtStart;
        m.churnDuring = (f?.churn ?? 0) - m.churnAtStart;
        m.state = "resolved";
        resolved = true;
      }
    }
    if (resolved) this.marks = this.marks.filter((m) => m.state === "waiting");
  }

  /**
   * Lines up a read of netns `inode` with the ticks: call right before it starts, with the time (CLOCK_MONOTONIC
   * µs, the clock of the tick times), and set `endUs` right after it ends. Ticks seen before the mark was made
   * are earlier than its start. null while counts do not flow.
   */
  mark(inode: number, startUs: number, endUs = Number.POSITIVE_INFINITY): LedgerMark | null {
    if (!this.live) return null;
    const m: LedgerMark = {
      inode,
      startUs,
      endUs,
      generation: this.generation,
      state: "waiting",
      startSeq: -1,
      endSeq: -1,
      net: null,
      transitionsAtStart: 0,
      churnAtStart: 0,
      transitionsDuring: 0,
      churnDuring: 0,
    };
    this.marks.push(m);
    return m;
  }

  /** The netns's flows now (as of the last flush); a shared zero vector for a netns never counted. */
  netOf(inode: number): Float64Array {
    return this.flows.get(inode)?.net ?? ZERO;
  }

  /** FIN_WAIT2 timewait socks made in netns `inode` so far. */
  finWait2TimeWaitOf(inode: number): number {
    return this.flows.get(inode)?.finWait2TimeWait ?? 0;
  }

  /** Transitions counted in netns `inode` so far. */
  transitionsOf(inode: number): number {
    return this.flows.get(inode)?.transitions ?? 0;
  }

  /** Forgets netns not in `keep` (gone), and their marks. */
  retain(keep: ReadonlySet<number>): void {
    for (const inode of this.flows.keys()) if (!keep.has(inode)) this.flows.delete(inode);
    for (const m of this.marks) if (!keep.has(m.inode)) m.state = "void";
    this.marks = this.marks.filter((m) => m.state === "waiting");
  }
}

const ZERO = new Float64Array(STATE_SLOTS);
