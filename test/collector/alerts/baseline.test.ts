import { describe, expect, it } from "vitest";
import { Baseline } from "../../../collector/alerts/baseline.js";

describe("baseline", () => {
  it("the quiet level counts only once completed buckets cover half the window; the median at once", () => {
    const b = new Baseline(60_000); // 60 buckets of 1 s
    for (let s = 0; s < 30; s++) {
      expect(b.quietLevel(s * 1000)).toBeNull();
      b.add(s * 1000, 14_400, 1000);
    }
    expect(b.median(30_000)).toBe(14_400);
    expect(b.quietLevel(29_999)).toBeNull(); // 29 buckets completed
    expect(b.quietLevel(30_000)).toBe(14_400); // 30 of 60
  });

  it("the quiet level is the 10th percentile: a ramp stays near its start, a few idle buckets are ignored", () => {
    const ramp = new Baseline(60_000);
    for (let s = 0; s < 60; s++) ramp.add(s * 1000, 100 * (s + 1), 1000);
    expect(ramp.median(60_000)).toBe(3050);
    expect(ramp.quietLevel(60_000)).toBe(600); // the 6th lowest of 60

    const idle = new Baseline(60_000);
    for (let s = 0; s < 60; s++) idle.add(s * 1000, s < 5 ? 0 : 1200, 1000);
    expect(idle.quietLevel(60_000)).toBe(1200);
  });

  it("forgets buckets older than the window", () => {
    const b = new Baseline(60_000);
    for (let s = 0; s < 60; s++) b.add(s * 1000, 10, 1000);
    for (let s = 60; s < 120; s++) b.add(s * 1000, 5000, 1000);
    expect(b.quietLevel(120_000)).toBe(5000);
  });
});
