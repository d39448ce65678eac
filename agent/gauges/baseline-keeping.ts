import { adoptBaseline, type Baseline, driftFailed, type Seeking, seekBaseline } from "./derived-gauges.js";
import type { LedgerMark } from "./transition-ledger.js";

/*
 * The baseline of one netns's derived gauges, kept from pass to pass (docs/design.md, "Gauges"): the table read
 * it starts from, the read waiting to become it, the busy reads made while seeking one, and the sockstat check
 * of the derived total. The reader does the I/O; this decides what each settled read means.
 */

/** A quiet netns's derived total is checked against sockstat at least this often. */
export const DRIFT_CHECK_MS = 60_000;

/** A table read waiting for the ticks around it, to become the baseline. */
export interface PendingCandidate {
  mark: LedgerMark;
  full: Float64Array;
}

/** A sockstat inuse read waiting for the ticks around it, to check the derived total of `baseline`. */
export interface PendingDriftCheck {
  mark: LedgerMark;
  inuse: number;
  baseline: Baseline;
}

export class BaselineKeeping {
  /** The table read the derived gauges start from (agent/gauges/derived-gauges.ts). */
  baseline?: Baseline;
  candidate?: PendingCandidate;
  /** No usable baseline: the busy reads made to find one. */
  seek?: Seeking;
  drift?: PendingDriftCheck;
  /** sockstat's inuse disagreed with the derived total by more than what ran beside the check. */
  driftFailed = false;
  driftCheckedAt: number;
  /** The netns's transition count at the last drift check (-1: never checked). */
  driftCheckedTransitions = -1;
  /** The kernel skipped tracepoint runs while this netns counted: its flows may miss some. */
  missed = false;

  constructor(now: number) {
    this.driftCheckedAt = now;
  }

  /**
   * The baseline, while it belongs to the ledger's current `generation` (a stream break voids it). `generation`
   * null: this netns's gauges cannot be derived now (no ledger ready, or a netns split by cgroup).
   */
  current(generation: number | null): Baseline | undefined {
    return generation !== null && this.baseline?.generation === generation ? this.baseline : undefined;
  }

  /** Whether a sockstat read should check the derived total: the netns moved, or the last check is old. */
  driftCheckDue(transitions: number, now: number): boolean {
    return (
      !this.drift &&
      (transitions !== this.driftCheckedTransitions || now - this.driftCheckedAt >= DRIFT_CHECK_MS)
    );
  }

  /** Takes what the ticks have settled since the last pass: a candidate baseline, a drift check. */
  resolve(generation: number, now: number): void {
    const c = this.candidate;
    if (c && c.mark.state !== "waiting") {
      this.candidate = undefined;
      if (c.mark.state === "resolved" && c.mark.net) {
        const before = this.baseline;
        const candidate = {
          full: c.full,
          net: c.mark.net,
          generation: c.mark.generation,
          transitionsDuring: c.mark.transitionsDuring,
        };
        if (before?.generation === generation) {
          this.baseline = adoptBaseline(before, candidate, generation, now);
        } else {
          const sought = seekBaseline(this.seek ?? { attempts: 0 }, candidate, generation, now);
          this.seek = sought.seek;
          if (sought.baseline) this.baseline = sought.baseline;
        }
        if (this.baseline !== before) {
          this.driftFailed = false;
          this.missed = false;
        }
      }
    }
    const d = this.drift;
    if (d && d.mark.state !== "waiting") {
      this.drift = undefined;
      if (d.mark.state === "resolved" && d.mark.net && d.baseline === this.baseline) {
        if (driftFailed(d.baseline, d.mark.net, d.inuse, d.mark.churnDuring)) this.driftFailed = true;
      }
    }
  }

  /** The derived gauges are wrong (or void): back to reading the table until a new baseline is found. */
  drop(): void {
    this.baseline = undefined;
    this.seek = { attempts: 0 };
    this.driftFailed = false;
  }

  /**
   * The end of a pass: a netns whose gauges were not derived in it keeps no baseline; a new candidate or drift
   * check waits for its ticks (`transitions`: the netns's transition count when the check was made).
   */
  afterPass(
    derived: boolean,
    started: { candidate?: PendingCandidate; drift?: PendingDriftCheck },
    transitions: number,
    now: number,
  ): void {
    if (!derived) this.baseline = undefined;
    if (started.candidate) this.candidate = started.candidate;
    if (started.drift) {
      this.drift = started.drift;
      this.driftCheckedAt = now;
      this.driftCheckedTransitions = transitions;
    }
  }
}
