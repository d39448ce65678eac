import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { duration, formatDuration, parseDuration } from "../../common/duration.js";

const DAY = 86_400_000;
const UNITS = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;

/** The distinct duration patterns of the chart's values.schema.json (of the fields that say they hold one). */
function chartDurationPatterns(): RegExp[] {
  const schema: unknown = JSON.parse(
    readFileSync(new URL("../../helm/tcpstate/values.schema.json", import.meta.url), "utf8"),
  );
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (typeof node !== "object" || node === null) return;
    const n = node as Record<string, unknown>;
    if (typeof n.pattern === "string" && /duration/i.test(String(n.description ?? ""))) {
      found.add(n.pattern);
    }
    for (const child of Object.values(n)) walk(child);
  };
  walk(schema);
  return [...found].map((source) => new RegExp(source));
}

describe("parseDuration", () => {
  it.each([
    ["5s", 5000],
    ["500ms", 500],
    ["1m", 60_000],
    ["1h", 3_600_000],
    ["1.5s", 1500],
    ["90s", 90_000],
    ["1m30s", 90_000],
    ["1h30m", 5_400_000],
    ["2h45m30s250ms", 9_930_250],
    ["0s", 0],
    // As Go's time.ParseDuration: terms in any order, summed.
    ["30s1m", 90_000],
  ])("reads %j as %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    "",
    "5",
    "s",
    "5 s",
    " 5s",
    "5s ",
    "-5s",
    "+5s",
    "5sec",
    "5d",
    "5ns",
    "1e3ms",
    ".5s",
    "5.s",
    "1h30",
    "1h 30m",
    "1h,30m",
    "5S",
  ])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it("reads back every whole number of milliseconds up to 30 days as formatDuration writes it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 * DAY }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });

  it("sums the terms of a compound duration", () => {
    const term = fc.tuple(
      fc.integer({ min: 0, max: 10_000 }),
      fc.constantFrom(...(Object.keys(UNITS) as (keyof typeof UNITS)[])),
    );
    fc.assert(
      fc.property(fc.array(term, { minLength: 1, maxLength: 6 }), (terms) => {
        const text = terms.map(([n, unit]) => `${n}${unit}`).join("");
        expect(parseDuration(text)).toBe(terms.reduce((sum, [n, unit]) => sum + n * UNITS[unit], 0));
      }),
    );
  });

  it("accepts exactly the strings the chart's values.schema.json accepts as a duration", () => {
    const patterns = chartDurationPatterns();
    expect(patterns.length).toBeGreaterThan(0);
    const nearDuration = fc.string({ unit: fc.constantFrom(..."0159.hmsn -+µe"), maxLength: 12 });
    for (const pattern of patterns) {
      fc.assert(
        fc.property(fc.oneof(nearDuration, fc.stringMatching(pattern), fc.string()), (text) => {
          expect(parseDuration(text) !== null).toBe(pattern.test(text));
        }),
        { numRuns: 2000 },
      );
    }
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [500, "500ms"],
    [1500, "1.5s"],
    [90_000, "1m30s"],
    [300_000, "5m"],
    [3_600_000, "1h"],
    [3_605_000, "1h5s"],
    [5_400_000, "1h30m"],
    [7 * DAY, "168h"],
  ])("writes %d ms as %j", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("duration (the zod field every flag, rules file and query uses)", () => {
  const interval = duration(1000, 300_000);

  it("takes a compound duration within the bounds", () => {
    expect(interval.parse("1m30s")).toBe(90_000);
  });

  it("refuses a duration out of bounds, stating the bounds and the value", () => {
    const r = interval.safeParse("5m1s");
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('must be between 1s and 5m, got "5m1s"');
  });

  it("refuses garbage naming the value, escaped and cut short", () => {
    const r = interval.safeParse(`\x1b[31m${"9".repeat(100)}`);
    const message = r.error?.issues[0]?.message ?? "";
    expect(message).toMatch(/^expected a duration like 5s, 500ms, 1m or 1h30m, got "\\u001b\[31m9+…"$/);
    expect(message.length).toBeLessThan(120);
  });

  it("refuses a number of hours too large to count", () => {
    expect(interval.safeParse(`${"9".repeat(400)}h`).success).toBe(false);
  });

  it("refuses a value that is not a string (a bare number in YAML)", () => {
    expect(interval.safeParse(30).error?.issues[0]?.message).toBe(
      "expected a duration like 5s, 500ms, 1m or 1h30m",
    );
  });
});
