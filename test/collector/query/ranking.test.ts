/** The pieces that make ranking cheap, checked against the obvious computation. */
import { describe, expect, it } from "vitest";
import { zeroCounters } from "../../../agent/wire/counters.js";
import { zeroGauges } from "../../../agent/wire/gauges.js";
import {
  ACTIVITY_BUCKET_MS,
  ACTIVITY_HORIZON_MS,
  emptyActivitySum,
  RecentActivity,
} from "../../../collector/model/recent-activity.js";
import { EncodedSeries, type PodPoint } from "../../../collector/model/series-codec.js";
import { topIndices } from "../../../collector/query/top-k.js";

function point(end: number, opens: number, failed = 0): PodPoint {
  return {
    windowStart: end - 5000,
    windowEnd: end,
    window: { ...zeroCounters(), active_opens: opens, failed_connects: failed },
    sockets: { ...zeroGauges(), TIME_WAIT: opens },
    complete: true,
  };
}

describe("top-k selection", () => {
  it("returns the k largest, largest first, ties by index, like a full sort", () => {
    const values = Float64Array.from([5, 1, 9, 9, 0, 7, 5, 3]);
    expect(topIndices(values, 3)).toEqual([2, 3, 5]);
    expect(topIndices(values, 5)).toEqual([2, 3, 5, 0, 6]);
    expect(topIndices(values, 100)).toEqual([2, 3, 5, 0, 6, 7, 1, 4]);
    expect(topIndices(values, 0)).toEqual([]);
    const random = Float64Array.from({ length: 1000 }, (_, i) => (i * 7919) % 613);
    const sorted = [...random.keys()].sort((a, b) => (random[b] as number) - (random[a] as number) || a - b);
    expect(topIndices(random, 25)).toEqual(sorted.slice(0, 25));
  });
});

describe("recent activity buckets", () => {
  it("bounds the exact sums of a window: the bucket it starts in is reported apart", () => {
    const a = new RecentActivity();
    const t0 = 1_800_000_000_000; // a bucket boundary
    for (let i = 1; i <= 120; i++) a.add(t0 + i * 5000, 5000, point(0, 10, i % 2).window);
    const now = t0 + 120 * 5000;
    // On a boundary: whole buckets, exact (12 windows in the last minute).
    const out = a.sumSince(now - 60_000, now, emptyActivitySum());
    expect(out).toMatchObject({ opens: 120, coveredMs: 60_000, partialOpens: 0, partialCoveredMs: 0 });
    // Off a boundary (the last 45 s: 9 windows): the partial bucket brackets the exact figures.
    a.sumSince(now - 45_000, now, out);
    expect(out.opens - out.partialOpens).toBeLessThanOrEqual(90);
    expect(out.opens).toBeGreaterThanOrEqual(90);
    expect(out.coveredMs - out.partialCoveredMs).toBeLessThanOrEqual(45_000);
    expect(out.coveredMs).toBeGreaterThanOrEqual(45_000);
    // Beyond the horizon the ring has nothing: older buckets were overwritten.
    a.sumSince(now - 10 * ACTIVITY_HORIZON_MS, now, out);
    expect(out.coveredMs).toBeLessThanOrEqual(ACTIVITY_HORIZON_MS + ACTIVITY_BUCKET_MS);
    // A window older than the ring holds changes nothing.
    const before = { ...a.sumSince(0, now, out) };
    a.add(t0 - 2 * ACTIVITY_HORIZON_MS, 5000, point(0, 1000).window);
    expect(a.sumSince(0, now, out)).toEqual(before);
  });
});

describe("encoded series sums", () => {
  it("sumSince equals summing the decoded points", () => {
    const points = Array.from({ length: 64 }, (_, i) =>
      point(1_800_000_000_000 + i * 5000, (i * 13) % 17, i % 3),
    );
    const run = EncodedSeries.of(points);
    for (const since of [0, points[10]?.windowEnd ?? 0, points[63]?.windowEnd ?? 0]) {
      const into = zeroCounters();
      const covered = run.sumSince(since, into);
      const kept = run.points().filter((p) => p.windowEnd > since);
      expect(covered).toBe(kept.length * 5000);
      expect(into.active_opens).toBe(kept.reduce((n, p) => n + p.window.active_opens, 0));
      expect(into.failed_connects).toBe(kept.reduce((n, p) => n + p.window.failed_connects, 0));
    }
  });

  it("sums past 2^32 without wrapping: a pod opening billions of connections ranks as busy, not idle", () => {
    const a = new RecentActivity();
    const t0 = 1_800_000_000_000;
    // Six windows in one bucket, each at the wire contract's per-window maximum (2^32 − 1).
    const max = 2 ** 32 - 1;
    for (let i = 1; i <= 6; i++) a.add(t0 + i * 5000, 5000, { ...zeroCounters(), active_opens: max });
    const out = a.sumSince(t0, t0 + 30_000, emptyActivitySum());
    expect(out.opens).toBe(6 * max);
  });
});
