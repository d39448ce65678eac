import { describe, expect, it } from "vitest";
import { BaselineKeeping, DRIFT_CHECK_MS } from "../../../agent/gauges/baseline-keeping.js";
import { type Baseline, SEEK_ATTEMPTS } from "../../../agent/gauges/derived-gauges.js";
import type { LedgerMark } from "../../../agent/gauges/transition-ledger.js";
import { TcpState } from "../../../agent/probe/tcp-state.js";

/*
 * A netns's baseline from pass to pass: settled reads become it, a stream break voids it, the sockstat check
 * fails it. Marks are written as the ledger leaves them once their ticks are in (or not yet).
 */
const { ESTABLISHED, LISTEN } = TcpState;
const NOW = 1_700_000_000_000;

/** Full sockets (or flows) per kernel state: 3 ESTABLISHED and 1 LISTEN unless told otherwise. */
function perState(established = 3, listen = 1): Float64Array {
  const v = new Float64Array(13);
  v[ESTABLISHED] = established;
  v[LISTEN] = listen;
  return v;
}

function mark(o: Partial<LedgerMark> = {}): LedgerMark {
  return {
    inode: 1,
    startUs: 0,
    endUs: 1,
    generation: 0,
    state: "resolved",
    startSeq: 1,
    endSeq: 2,
    net: new Float64Array(13),
    transitionsAtStart: 0,
    churnAtStart: 0,
    transitionsDuring: 0,
    churnDuring: 0,
    ...o,
  };
}

/** A keeping with a quiet read of `perState()` adopted in generation 0. */
function withBaseline(): BaselineKeeping & { baseline: Baseline } {
  const k = new BaselineKeeping(NOW);
  k.candidate = { mark: mark(), full: perState() };
  k.resolve(0, NOW);
  if (!k.baseline) throw new Error("expected the quiet read adopted");
  return k as BaselineKeeping & { baseline: Baseline };
}

describe("BaselineKeeping", () => {
  it("adopts a quiet settled read as an exact baseline", () => {
    const k = withBaseline();
    expect(k.baseline).toMatchObject({ exact: true, bound: 0, generation: 0, at: NOW });
    expect(k.baseline?.full).toEqual(perState());
    expect(k.candidate).toBeUndefined();
  });

  it("keeps a read waiting for its ticks as the candidate, and adopts nothing yet", () => {
    const k = new BaselineKeeping(NOW);
    const waiting = { mark: mark({ state: "waiting" }), full: perState() };
    k.candidate = waiting;
    k.resolve(0, NOW);
    expect(k.baseline).toBeUndefined();
    expect(k.candidate).toBe(waiting);
  });

  it("settles for the tightest busy read after SEEK_ATTEMPTS of them while seeking", () => {
    const k = new BaselineKeeping(NOW);
    for (let attempt = 1; attempt <= SEEK_ATTEMPTS; attempt++) {
      expect(k.baseline).toBeUndefined();
      // The third read is the tightest (2 transitions beside it).
      k.candidate = { mark: mark({ transitionsDuring: attempt === 3 ? 2 : 9 }), full: perState(attempt) };
      k.resolve(0, NOW);
    }
    expect(k.baseline).toMatchObject({ exact: false, bound: 2 });
    expect(k.baseline?.full[ESTABLISHED]).toBe(3);
  });

  it("offers the baseline only in the ledger generation it was taken in, and not where gauges are not derived", () => {
    const k = withBaseline();
    expect(k.current(0)).toBe(k.baseline);
    expect(k.current(1)).toBeUndefined(); // the count stream broke since
    expect(k.current(null)).toBeUndefined();
  });

  it("fails the drift check when sockstat's inuse is off by more than the churn beside it", () => {
    const k = withBaseline();
    const baseline = k.baseline;
    k.drift = { mark: mark({ churnDuring: 1 }), inuse: 4 + 2, baseline };
    k.resolve(0, NOW);
    expect(k.driftFailed).toBe(true);
    expect(k.drift).toBeUndefined();
  });

  it("passes the drift check within the churn beside it, and ignores a check of a replaced baseline", () => {
    const k = withBaseline();
    k.drift = { mark: mark({ churnDuring: 1 }), inuse: 4 + 1, baseline: k.baseline };
    k.resolve(0, NOW);
    expect(k.driftFailed).toBe(false);
    const old = k.baseline;
    k.candidate = { mark: mark(), full: perState(5) };
    k.drift = { mark: mark(), inuse: 100, baseline: old };
    k.resolve(0, NOW + 1);
    expect(k.baseline).not.toBe(old);
    expect(k.driftFailed).toBe(false);
  });

  it("clears a failed drift check and the kernel-missed flag when a new baseline is adopted", () => {
    const k = withBaseline();
    k.driftFailed = true;
    k.missed = true;
    k.candidate = { mark: mark(), full: perState(7) };
    k.resolve(0, NOW + 1);
    expect(k.baseline?.full[ESTABLISHED]).toBe(7);
    expect(k.driftFailed).toBe(false);
    expect(k.missed).toBe(false);
  });

  it("is due a drift check when the netns moved or the last check is DRIFT_CHECK_MS old, never two at once", () => {
    const k = withBaseline();
    expect(k.driftCheckDue(0, NOW)).toBe(true); // never checked
    k.afterPass(
      true,
      { drift: { mark: mark({ state: "waiting" }), inuse: 4, baseline: k.baseline } },
      5,
      NOW,
    );
    expect(k.driftCheckDue(6, NOW)).toBe(false); // one pending
    k.drift = undefined;
    expect(k.driftCheckDue(5, NOW + DRIFT_CHECK_MS - 1)).toBe(false);
    expect(k.driftCheckDue(6, NOW)).toBe(true);
    expect(k.driftCheckDue(5, NOW + DRIFT_CHECK_MS)).toBe(true);
  });

  it("drops the baseline to seek a new one, and keeps none after a pass whose gauges were not derived", () => {
    const k = withBaseline();
    k.driftFailed = true;
    k.drop();
    expect(k).toMatchObject({ baseline: undefined, seek: { attempts: 0 }, driftFailed: false });
    const again = withBaseline();
    again.afterPass(false, {}, 0, NOW);
    expect(again.baseline).toBeUndefined();
    const kept = withBaseline();
    kept.afterPass(true, {}, 0, NOW);
    expect(kept.baseline).toBeDefined();
  });
});
