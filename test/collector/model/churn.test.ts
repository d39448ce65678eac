import { describe, expect, it } from "vitest";
import { zeroCounters } from "../../../agent/wire/counters.js";
import { churnOf, churnPerSecond, opens } from "../../../collector/model/churn.js";

describe("churn", () => {
  it("counts active and passive opens, nothing else", () => {
    const counters = {
      ...zeroCounters(),
      active_opens: 7,
      passive_opens: 5,
      closes: 100,
      failed_connects: 3,
    };
    expect(opens(counters)).toBe(12);
  });

  it("is opens per second of observed time, 0 when nothing was observed", () => {
    expect(churnPerSecond(120, 60_000)).toBe(2);
    expect(churnOf({ active_opens: 30, passive_opens: 20 }, 5000)).toBe(10);
    expect(churnPerSecond(5, 0)).toBe(0);
  });
});
