/** What the terminal shows: aligned tables and sparklines. */
import { describe, expect, it } from "vitest";
import { sparkline, textTable } from "../../render/text-table.js";

describe("terminal text", () => {
  it("pads columns to the widest cell and right-aligns numbers", () => {
    expect(
      textTable(
        ["POD", "CHURN/s"],
        [
          ["api", "20.0"],
          ["payments-db", "1.5"],
        ],
        new Set([1]),
      ),
    ).toBe(["POD           CHURN/s", "api              20.0", "payments-db       1.5"].join("\n"));
  });

  it("escapes cells for the terminal and aligns the columns on what is shown", () => {
    expect(
      textTable(
        ["POD", "NODE"],
        [
          ["web-\x1b[2J\u202e", "n1"],
          ["api", "n2"],
        ],
      ),
    ).toBe(["POD                 NODE", "web-\\x1b[2J\\u202e   n1", "api                 n2"].join("\n"));
  });

  it("draws a sparkline scaled from zero to the maximum, averaging into the width", () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe("▁▂▃▄▅▆▇█");
    expect(sparkline([5, 5, 5])).toBe("███");
    expect(sparkline([null, null])).toBe("");
    expect(
      sparkline(
        Array.from({ length: 120 }, (_, i) => i),
        60,
      ),
    ).toHaveLength(60);
  });
});
