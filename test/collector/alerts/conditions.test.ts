import { describe, expect, it } from "vitest";
import { buildupActive } from "../../../collector/alerts/conditions.js";
import { defaultRules } from "../../../collector/alerts/rules-file.js";

describe("conditions: buildupActive", () => {
  const tw = defaultRules().TimeWaitBuildup; // floor 500, factor 4, cold start 10,000

  it("without a baseline, the cold-start floor alone decides", () => {
    expect(buildupActive(9_999, tw, null, false)).toBe(false);
    expect(buildupActive(10_000, tw, null, false)).toBe(true);
  });

  it("with a baseline, floor and factor × the quiet level decide, not the cold-start floor", () => {
    expect(buildupActive(3_999, tw, 1_000, false)).toBe(false);
    expect(buildupActive(4_000, tw, 1_000, false)).toBe(true);
    expect(buildupActive(499, tw, 0, false)).toBe(false);
    expect(buildupActive(15_000, tw, 14_400, false)).toBe(false);
  });

  it("a dangerous level fires whatever the baseline", () => {
    expect(buildupActive(21_000, tw, 16_000, true)).toBe(true);
    expect(buildupActive(3, tw, null, true)).toBe(true);
  });

  it("a floor raised over the default cold-start floor applies at cold start", () => {
    const syn = { ...defaultRules().SynRecvBuildup, floor: 60 };
    expect(buildupActive(55, syn, null, false)).toBe(false);
    expect(buildupActive(60, syn, null, false)).toBe(true);
  });
});
