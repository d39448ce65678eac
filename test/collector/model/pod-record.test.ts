import { describe, expect, it } from "vitest";
import { zeroCounters } from "../../../agent/wire/counters.js";
import { zeroGauges } from "../../../agent/wire/gauges.js";
import type { PodEntry } from "../../../agent/wire/summary.js";
import { COARSE_MS, downsample, PodRecord } from "../../../collector/model/pod-record.js";
import { SeqTracker } from "../../../collector/model/seq-tracker.js";
import { EncodedSeries, type PodPoint } from "../../../collector/model/series-codec.js";

const T0 = 1_800_000_000_000;

function point(i: number, opens: number, tw: number | null, complete = true): PodPoint {
  return {
    windowStart: T0 + i * 5000,
    windowEnd: T0 + (i + 1) * 5000,
    window: { ...zeroCounters(), active_opens: opens, closes: opens * 2 },
    sockets: tw === null ? null : { ...zeroGauges(), TIME_WAIT: tw, ESTABLISHED: 3 },
    complete,
  };
}

function entry(p: PodPoint): PodEntry {
  return {
    owner: { kind: "host", name: "host" },
    netns: [1],
    window: p.window,
    total: zeroCounters(),
    sockets: p.sockets,
    estimated: [],
    listeners: [],
    netnsCounters: null,
    topDestinations: { connects: [], timeWait: [] },
  };
}

describe("EncodedSeries: compact history", () => {
  it("gives back exactly the points it was given, gauges rising and falling, with and without sockets", () => {
    const pts = [
      point(0, 0, 0),
      point(1, 5, 120_000),
      point(2, 70_000, 3),
      point(3, 1, null, false),
      point(4, 2, 9),
    ];
    expect(EncodedSeries.of(pts).points()).toEqual(pts);
  });

  it("keeps a quiet pod's hour of 5 s windows under 20 KB", () => {
    const s = new EncodedSeries();
    for (let i = 0; i < 720; i++) s.append(point(i, i % 7, 40 + (i % 5)));
    s.seal();
    expect(s.byteLength).toBeLessThan(20_000);
    expect(s.points()).toHaveLength(720);
  });
});

describe("PodRecord: history per pod", () => {
  const HOUR = 3_600_000;

  it("places a late window by time and counts it in the total once", () => {
    const r = new PodRecord("k", "node-1", entry(point(0, 1, 1)));
    for (const i of [0, 1, 2, 4, 5, 3]) {
      const p = point(i, i + 1, i);
      r.apply(entry(p), p.windowStart, p.windowEnd, true, HOUR, 24 * HOUR);
    }
    expect(r.points().map((p) => p.windowEnd)).toEqual([0, 1, 2, 3, 4, 5].map((i) => T0 + (i + 1) * 5000));
    expect(r.total.active_opens).toBe(1 + 2 + 3 + 4 + 5 + 6);
    expect(r.latest.sockets?.TIME_WAIT).toBe(5); // the newest window's, not the last to arrive
  });

  it("keeps window resolution for the history and per-minute points beyond it, then forgets past retention", () => {
    const r = new PodRecord("k", "node-1", entry(point(0, 1, 1)));
    const n = 2 * 720; // two hours of 5 s windows
    for (let i = 0; i < n; i++) {
      const p = point(i, 1, i % 50);
      r.apply(entry(p), p.windowStart, p.windowEnd, true, HOUR, 90 * 60_000);
    }
    const pts = r.points();
    const fine = pts.filter((p) => p.windowEnd - p.windowStart === 5000);
    const coarse = pts.filter((p) => p.windowEnd - p.windowStart > 5000);
    expect(fine.length).toBeGreaterThanOrEqual(720);
    expect(coarse.length).toBeGreaterThan(0);
    expect(coarse.every((p) => p.windowEnd - p.windowStart <= COARSE_MS)).toBe(true);
    // Nothing older than 90 minutes before the newest window is kept (to the run: 64 windows).
    expect((pts[0] as PodPoint).windowEnd).toBeGreaterThanOrEqual(r.lastSeen - 90 * 60_000 - 64 * 5000);
    expect((pts[0] as PodPoint).windowEnd).toBeGreaterThan(T0 + 20 * 60_000);
    // The total still counts every window ever applied.
    expect(r.total.active_opens).toBe(n);
  });

  it("downsamples by summing counters and keeping the minute's last gauges", () => {
    const pts = Array.from({ length: 12 }, (_, i) => point(i, 2, i));
    const [minute, ...rest] = downsample(pts, COARSE_MS);
    const sum = [minute, ...rest].reduce((s, p) => s + (p?.window.active_opens ?? 0), 0);
    expect(sum).toBe(24);
    expect(rest.length).toBeLessThanOrEqual(1);
  });
});

describe("SeqTracker: which windows were applied", () => {
  it("knows every seq it was given, in any order, and no other", () => {
    const t = new SeqTracker();
    for (const s of [0, 1, 3, 2, 7]) t.add(s);
    expect([0, 1, 2, 3, 7].every((s) => t.has(s))).toBe(true);
    expect([4, 5, 6, 8].some((s) => t.has(s))).toBe(false);
  });

  it("closes a gap that stays open for a thousand windows (dropped by the agent for good)", () => {
    const t = new SeqTracker();
    t.add(0);
    for (let s = 2; s <= 1002; s++) t.add(s);
    expect(t.has(1)).toBe(true);
    expect(t.has(1003)).toBe(false);
  });
});
