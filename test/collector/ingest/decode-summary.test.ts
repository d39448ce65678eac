/** The collector's summary decoder: every message is refused or accepted with a reason, never a throw. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { summarySubject } from "../../../agent/wire/subjects.js";
import { type NodeSummary, SUMMARY_LIMITS } from "../../../agent/wire/summary.js";
import {
  decodeSummary,
  MAX_CLOCK_SKEW_MS,
  REFUSAL_REASONS,
} from "../../../collector/ingest/decode-summary.js";
import { podOwner, TEST_EPOCH, testSummary } from "../../support/summaries.js";

const NOW = TEST_EPOCH + 3_600_000;
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const good = () =>
  testSummary("node-1", 3, [{ owner: podOwner("uid-1", "web-1"), window: { active_opens: 4 } }]);
const decode = (value: unknown, subject = summarySubject("node-1"), now = NOW) =>
  decodeSummary(bytes(value), subject, now);
const reasonOf = (value: unknown, subject?: string, now?: number) => {
  const r = decode(value, subject, now);
  return r.ok ? "ok" : r.reason;
};

describe("decodeSummary", () => {
  it("accepts a valid summary on its node's subject", () => {
    const r = decode(good());
    expect(r.ok && r.summary).toEqual(good());
  });

  it("refuses malformed JSON, even with a CR/LF in it (it crashed the dead-letter headers)", () => {
    const r = decodeSummary(new TextEncoder().encode('{"schema":\r\n x}'), summarySubject("x"), NOW);
    expect(r).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("refuses a message over the byte limit before parsing it", () => {
    const huge = new Uint8Array(SUMMARY_LIMITS.bytes + 1).fill(0x20);
    expect(decodeSummary(huge, summarySubject("node-1"), NOW)).toMatchObject({
      ok: false,
      reason: "too-large",
    });
  });

  it("refuses a summary of another node than its subject's, and wildcard or nested subjects", () => {
    expect(reasonOf({ ...good(), node: "victim" }, summarySubject("attacker"))).toBe("wrong-subject");
    for (const subject of ["tcpstate.v1.summary.*", "tcpstate.v1.summary.>", "tcpstate.v1.summary.node-1.x"])
      expect(reasonOf(good(), subject)).toBe("wrong-subject");
    // A dotted node name publishes under its subject token.
    const dotted = { ...good(), node: "ip-10-0-0-1.ec2.internal" };
    expect(reasonOf(dotted, summarySubject(dotted.node))).toBe("ok");
  });

  it("refuses windows in the future, inverted or too long", () => {
    const s = good();
    const future = { ...s, windowStart: NOW + MAX_CLOCK_SKEW_MS, windowEnd: NOW + MAX_CLOCK_SKEW_MS + 1 };
    expect(reasonOf(future)).toBe("from-the-future");
    expect(reasonOf({ ...s, windowStart: 32503680000000, windowEnd: 32503680005000 })).toBe(
      "from-the-future",
    );
    expect(reasonOf({ ...s, windowStart: s.windowEnd + 1 })).toBe("invalid");
    expect(reasonOf({ ...s, windowStart: s.windowEnd - SUMMARY_LIMITS.windowMs - 1 })).toBe("invalid");
  });

  it("refuses strings, lists and counts past the contract's bounds", () => {
    const s = good();
    const entry = s.pods[0] as NodeSummary["pods"][number];
    const withEntry = (e: object) => ({ ...s, pods: [{ ...entry, ...e }] });
    const owner = entry.owner as Extract<typeof entry.owner, { kind: "pod" }>;
    const cases: [string, unknown][] = [
      ["pods", { ...s, pods: Array(SUMMARY_LIMITS.pods + 1).fill(entry) }],
      ["node name", { ...s, node: "n".repeat(SUMMARY_LIMITS.name + 1) }],
      ["namespace", withEntry({ owner: { ...owner, namespace: "n".repeat(SUMMARY_LIMITS.label + 1) } })],
      [
        "label value",
        withEntry({ owner: { ...owner, labels: { app: "v".repeat(SUMMARY_LIMITS.label + 1) } } }),
      ],
      [
        "label count",
        withEntry({
          owner: {
            ...owner,
            labels: Object.fromEntries(
              Array.from({ length: SUMMARY_LIMITS.labels + 1 }, (_, i) => [`k${i}`, "v"]),
            ),
          },
        }),
      ],
      [
        "window count",
        withEntry({ window: { ...entry.window, active_opens: SUMMARY_LIMITS.windowCount + 1 } }),
      ],
      [
        "destinations",
        withEntry({
          topDestinations: {
            connects: Array.from({ length: SUMMARY_LIMITS.destinations + 1 }, (_, i) => ({
              endpoint: `10.0.0.1:${i + 1}`,
              count: 1,
            })),
            timeWait: [],
          },
        }),
      ],
    ];
    for (const [what, value] of cases) expect(reasonOf(value), what).toBe("invalid");
  });

  it("never throws, whatever the bytes (fuzz)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string({ maxLength: 80 }), (data, subject) => {
        const r = decodeSummary(data, subject, NOW);
        expect(r.ok || REFUSAL_REASONS.includes(r.reason)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("never throws on a valid summary with any field replaced by any JSON value (fuzz)", () => {
    const paths = [
      ["node"],
      ["seq"],
      ["windowEnd"],
      ["pods"],
      ["pods", 0],
      ["pods", 0, "owner"],
      ["pods", 0, "owner", "labels"],
      ["pods", 0, "window"],
      ["pods", 0, "listeners"],
      ["pods", 0, "topDestinations"],
      ["health"],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
        const s = structuredClone(good()) as unknown as Record<string | number, unknown>;
        let at = s;
        for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
        at[path.at(-1) as string | number] = value;
        const r = decode(s);
        expect(r.ok || REFUSAL_REASONS.includes(r.reason)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
