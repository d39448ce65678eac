import { TcpState } from "../probe/tcp-state.js";
import type { SocketGauges } from "../wire/gauges.js";
import type { SocketTable } from "./socket-table.js";
import { STATE_SLOTS } from "./transition-ledger.js";

/*
 * Full-socket state gauges of a busy netns without reading its socket table: gauge(state) at the last kernel
 * tick = gauge in a table read + the exact transition flows since (agent/gauges/transition-ledger.ts). What has
 * no transition keeps its own source: TIME_WAIT (sockstat tw), request socks (SYN_RECV before the final ACK)
 * and listeners' queues (the last table read). Pure functions, no I/O. Why: docs/design.md, "Gauges".
 */

const S = TcpState;
/** Full-socket states (kernel numbers) and the gauge each feeds. */
const FULL_STATES = [
  [S.ESTABLISHED, "ESTABLISHED"],
  [S.SYN_SENT, "SYN_SENT"],
  [S.SYN_RECV, "SYN_RECV"],
  [S.FIN_WAIT1, "FIN_WAIT1"],
  [S.FIN_WAIT2, "FIN_WAIT2"],
  [S.CLOSE_WAIT, "CLOSE_WAIT"],
  [S.LAST_ACK, "LAST_ACK"],
  [S.LISTEN, "LISTEN"],
  [S.CLOSING, "CLOSING"],
] as const;

/** A table read adopted as the starting point of a netns's derived gauges. */
export interface Baseline {
  /** The table's full sockets per kernel state (request socks and timewait socks left out). */
  full: Float64Array;
  /** The ledger's flows of the netns at the instant the table describes. */
  net: Float64Array;
  /** The ledger generation it belongs to: void once the count stream broke. */
  generation: number;
  /** When it was adopted (clock ms). */
  at: number;
  /** The netns made no transition while the table was read: the baseline is exact. */
  exact: boolean;
  /**
   * Else: transitions of the netns between the tick before the read and the tick after it. Those that ran
   * before the read reached their socket are counted twice: no gauge is off by more than this.
   */
  bound: number;
}

/**
 * A table's full sockets per kernel state. Its SYN-RECV lines are taken as request socks (an accepted child is
 * in SYN_RECV only between two transitions of one softirq), its FIN-WAIT-2 timewait socks (inode 0) as timewait.
 */
export function fullSocketsOf(table: SocketTable): Float64Array {
  const v = new Float64Array(STATE_SLOTS);
  for (const [state, gauge] of FULL_STATES) v[state] = table.gauges[gauge];
  v[S.SYN_RECV] = 0;
  v[S.FIN_WAIT2] = table.gauges.FIN_WAIT2 - table.finWait2TimeWait;
  return v;
}

/** Full sockets in `state` now: the baseline's + the flows since it. */
export function derivedFull(b: Baseline, net: Float64Array, state: number): number {
  return (b.full[state] as number) + (net[state] as number) - (b.net[state] as number);
}

/** Every full socket of the netns: what sockstat's `inuse` (TCP + TCP6) counts. */
export function derivedTotal(b: Baseline, net: Float64Array): number {
  let sum = 0;
  for (const [state] of FULL_STATES) sum += derivedFull(b, net, state);
  return sum;
}

/**
 * A full-socket gauge went below 0 by more than the baseline's bound: the baseline or the counts are wrong. (A
 * baseline read while the netns was busy may be off by up to its bound either way; the gauge is clamped to 0.)
 */
export function derivedNegative(b: Baseline, net: Float64Array): boolean {
  for (const [state] of FULL_STATES) if (derivedFull(b, net, state) < -b.bound) return true;
  return false;
}

/**
 * sockstat's inuse (TCP + TCP6), read between two ticks, against the derived total as of the tick before:
 * they may differ by the opens and closes that ran in that interval (`churn`), and by the baseline's bound.
 */
export function driftFailed(b: Baseline, netAtTick: Float64Array, inuse: number, churn: number): boolean {
  return Math.abs(inuse - derivedTotal(b, netAtTick)) > churn + b.bound;
}

/** What the gauges take from elsewhere than the flows. */
export interface OwnSources {
  /** Request socks (half-open connections) in the last table read. */
  requestSocks: number;
  /** FIN_WAIT2 timewait socks in the last table read. */
  finWait2TimeWait: number;
  /** sockstat's tw now: every timewait sock of the netns. */
  tw: number;
}

/** The netns's socket gauges: full sockets derived, request socks and timewait socks from their sources. */
export function deriveSockets(b: Baseline, net: Float64Array, own: OwnSources): SocketGauges {
  const g = {} as SocketGauges;
  for (const [state, gauge] of FULL_STATES) g[gauge] = Math.max(0, derivedFull(b, net, state));
  const fw2tw = Math.min(own.finWait2TimeWait, own.tw);
  g.SYN_RECV += own.requestSocks;
  g.FIN_WAIT2 += fw2tw;
  g.TIME_WAIT = own.tw - fw2tw;
  return g;
}

/** Why a netns's socket table is read in this pass. */
export type ReadReason =
  /** Seeking a baseline (none usable): the netns's table is read every pass until one is taken. */
  | "first"
  | "stream-broke"
  | "drift"
  | "negative"
  | "seek"
  /** Required, for what has no transition (the baseline is replaced only by a quiet read). */
  | "syn"
  | "accept-queue"
  | "listeners"
  | "fin-wait2"
  /** Optional: at most a few per pass, in this order. */
  | "kernel-missed"
  | "fin-wait2-made"
  | "unconfirmed"
  | "time-wait-peers"
  | "periodic";

export const OPTIONAL_REASONS: readonly ReadReason[] = [
  "kernel-missed",
  "fin-wait2-made",
  "unconfirmed",
  "time-wait-peers",
  "periodic",
];

/** The derived gauges are shown wrong: the baseline is dropped and the netns seeks a new one. */
export function dropsBaseline(reason: ReadReason | null): boolean {
  return reason === "drift" || reason === "negative";
}

/** A derived netns's table is read again after this long unread (optional reads, a few per pass). */
export const REBASELINE_MS = 10 * 60_000;
/** A baseline taken while the netns was busy is tried again, quietly, after this long. */
export const UNCONFIRMED_RETRY_MS = 60_000;

export interface ReadInputs {
  baseline: Baseline | undefined;
  generation: number;
  /** sockstat's inuse disagreed with the derived total by more than what ran beside the check. */
  driftFailed: boolean;
  negative: boolean;
  /** TCPSynRetrans or a SYN/listen-queue pressure counter moved since the last pass. */
  synMoved: boolean;
  /** From the last table read. */
  requestSocks: number;
  acceptQueued: number;
  finWait2TimeWait: number;
  /** FIN_WAIT2 timewait socks were made since the last table read. */
  finWait2TimeWaitMade: boolean;
  /** A listener opened or closed since the last table read (the LISTEN flow moved). */
  listenersMoved: boolean;
  tw: number;
  /** The kernel skipped tracepoint runs while this netns counted. */
  kernelMissed: boolean;
  timeWaitPeersWanted: boolean;
  lastReadAt: number;
  now: number;
}

/** Why the table of a netns with derived gauges is read in this pass, or null. */
export function readReason(i: ReadInputs): ReadReason | null {
  const b = i.baseline;
  if (!b) return "first";
  if (b.generation !== i.generation) return "stream-broke";
  if (i.driftFailed) return "drift";
  if (i.negative) return "negative";
  // Request socks come and go without a transition: read while any are known, or once SYNs show trouble.
  if (i.synMoved || i.requestSocks > 0) return "syn";
  // accept() moves no state either.
  if (i.acceptQueued > 0) return "accept-queue";
  if (i.listenersMoved) return "listeners";
  // FIN_WAIT2 timewait socks turn into TIME_WAIT ones (the peer's FIN) or expire without a transition: read
  // while any are known. Most live one round trip (the peer's FIN follows its ACK), so new ones alone wait
  // for an optional read.
  if (i.finWait2TimeWait > 0) return "fin-wait2";
  if (i.kernelMissed) return "kernel-missed";
  if (i.finWait2TimeWaitMade) return "fin-wait2-made";
  if (!b.exact && i.now - i.lastReadAt >= UNCONFIRMED_RETRY_MS) return "unconfirmed";
  if (i.timeWaitPeersWanted) return "time-wait-peers";
  // Any read is a chance to re-baseline (a quiet one is adopted): periodic counts from the last read.
  if (i.now - i.lastReadAt >= REBASELINE_MS) return "periodic";
  return null;
}

/** A resolved read, as a candidate baseline. */
export interface Candidate {
  full: Float64Array;
  net: Float64Array;
  generation: number;
  /** Transitions of the netns between the tick before the read and the tick after it. */
  transitionsDuring: number;
}

const baselineOf = (c: Candidate, now: number): Baseline => ({
  full: c.full,
  net: c.net,
  generation: c.generation,
  at: now,
  exact: c.transitionsDuring === 0,
  bound: c.transitionsDuring,
});

/**
 * A resolved read in a netns whose gauges are derived: a quiet read is exact and always taken (it corrects
 * whatever went unseen); a busy one only when it is tighter than a busy current baseline.
 */
export function adoptBaseline(current: Baseline, c: Candidate, generation: number, now: number): Baseline {
  if (c.generation !== generation || current.generation !== generation) return current;
  if (c.transitionsDuring === 0 || (!current.exact && c.transitionsDuring < current.bound))
    return baselineOf(c, now);
  return current;
}

/** Busy reads a netns seeking a baseline makes before it settles for the tightest of them. */
export const SEEK_ATTEMPTS = 6;

/** A netns without a usable baseline: its busy reads so far, and the tightest. */
export interface Seeking {
  attempts: number;
  best?: Candidate;
}

/**
 * A resolved read in a netns seeking a baseline (first sight, stream broke, drift): a quiet read is taken,
 * exact; after SEEK_ATTEMPTS busy ones the tightest is taken, bounded by the transitions that ran beside it.
 * Meanwhile its table is read every pass, as before derived gauges.
 */
export function seekBaseline(
  seek: Seeking,
  c: Candidate,
  generation: number,
  now: number,
): { baseline?: Baseline; seek: Seeking } {
  if (c.generation !== generation) return { seek };
  if (c.transitionsDuring === 0) return { baseline: baselineOf(c, now), seek: { attempts: 0 } };
  const kept = seek.best?.generation === generation ? seek.best : undefined;
  const best = kept && kept.transitionsDuring <= c.transitionsDuring ? kept : c;
  const attempts = seek.attempts + 1;
  if (attempts >= SEEK_ATTEMPTS) return { baseline: baselineOf(best, now), seek: { attempts: 0 } };
  return { seek: { attempts, best } };
}
