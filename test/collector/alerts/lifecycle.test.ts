import { describe, expect, it } from "vitest";
import { Baseline } from "../../../collector/alerts/baseline.js";
import { Lifecycle } from "../../../collector/alerts/lifecycle.js";

/** Steps a lifecycle through a series of (time s, condition) and returns the transitions with their times. */
function run(series: [number, boolean][], forMs: number, holdDownMs: number): string[] {
  const l = new Lifecycle();
  const out: string[] = [];
  for (const [s, active] of series) {
    const tr = l.step(s * 1000, active, forMs, holdDownMs);
    if (tr) out.push(`${s}:${tr}`);
  }
  return out;
}

describe("alert lifecycle (data time)", () => {
  it("pending when the condition turns true, firing once it held for `for`", () => {
    const series: [number, boolean][] = [0, 1, 2, 3, 4, 5].map((s) => [s, s >= 1]);
    expect(run(series, 3000, 0)).toEqual(["1:pending", "4:firing"]);
  });

  it("a condition that clears before `for` goes back to inactive, and `for` starts over", () => {
    const on = [1, 2, 4, 5, 6, 7];
    const series: [number, boolean][] = [1, 2, 3, 4, 5, 6, 7].map((s) => [s, on.includes(s)]);
    expect(run(series, 3000, 0)).toEqual(["1:pending", "3:cancelled", "4:pending", "7:firing"]);
  });

  it("for 0 fires at once", () => {
    expect(run([[5, true]], 0, 0)).toEqual(["5:firing"]);
  });

  it("resolves only after the condition stayed clear for the hold-down: no flapping", () => {
    const on = new Set([0, 1, 2, 3, 5, 8]);
    const series: [number, boolean][] = Array.from({ length: 14 }, (_, s) => [s, on.has(s)]);
    // Clear at 4 (back at 5), clear at 6-7 (back at 8), clear from 9: resolved at 9 + 3.
    expect(run(series, 2000, 3000)).toEqual(["0:pending", "2:firing", "12:resolved"]);
  });

  it("without hold-down it resolves at the first clear window", () => {
    expect(
      run(
        [
          [0, true],
          [1, false],
        ],
        0,
        0,
      ),
    ).toEqual(["0:firing", "1:resolved"]);
  });

  it("keeps startsAt (activeAt) stable from pending through firing", () => {
    const l = new Lifecycle();
    l.step(10_000, true, 2000, 0);
    l.step(12_000, true, 2000, 0);
    expect(l).toMatchObject({ state: "firing", activeAt: 10_000, firedAt: 12_000 });
  });
});

describe("baseline: trailing median of bucket means", () => {
  it("is null until a bucket completed, then the median of completed buckets only", () => {
    const b = new Baseline(60_000); // 1 s buckets
    expect(b.bucketMs).toBe(1000);
    b.add(500, 10);
    expect(b.median(900)).toBeNull(); // its bucket is still filling
    expect(b.median(1500)).toBe(10);
    b.add(1500, 1000); // the current bucket does not count yet
    expect(b.median(1600)).toBe(10);
    b.add(2500, 20);
    expect(b.median(3500)).toBe(20); // median of 10, 1000, 20
  });

  it("a one-off spike does not move the median; a sustained level does, after half the window", () => {
    const b = new Baseline(10_000); // 10 buckets of 1 s
    for (let s = 0; s < 10; s++) b.add(s * 1000 + 500, 100);
    expect(b.median(10_500)).toBe(100);
    b.add(10_500, 5000);
    expect(b.median(11_500)).toBe(100);
    for (let s = 11; s < 16; s++) b.add(s * 1000 + 500, 5000);
    expect(b.median(16_500)).toBe(5000); // 6 of the last 10 buckets are 5000
  });

  it("forgets buckets older than its window, also across gaps", () => {
    const b = new Baseline(5000);
    b.add(500, 7);
    expect(b.median(1500)).toBe(7);
    expect(b.median(10_000)).toBeNull();
  });

  it("uses minute buckets for an hour, at most 60 buckets, weighting samples by window length", () => {
    const b = new Baseline(3_600_000);
    expect(b.bucketMs).toBe(60_000);
    b.add(10_000, 100, 10_000);
    b.add(15_000, 400, 5000);
    expect(b.median(60_000)).toBe(200);
  });

  it("ignores samples older than the bucket being filled", () => {
    const b = new Baseline(10_000);
    b.add(5500, 10);
    b.add(1500, 99999);
    expect(b.median(6500)).toBe(10);
  });
});
