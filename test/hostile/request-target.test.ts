/**
 * The request-target parser every service runs first: it never throws, it refuses what a URL parser could
 * choke on or fold (absolute-form, `//host`, bad escapes, dot segments, object-internal parameter names), and
 * what it accepts yields the URL the routes read. Crashes found here become fixture cases.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REFUSALS } from "../../common/http-refusals.js";
import { MAX_TARGET_LENGTH, parseRequestTarget, targetUrl } from "../../common/request-target.js";

/** Targets that crashed, or were answered 500 or accepted, before the parser existed. */
const HOSTILE: [target: string, reason: string][] = [
  ["http://[", "target_form"],
  ["//[/", "target_characters"],
  ["http://a:99999/", "target_form"],
  ["https://example.com/metrics", "target_form"],
  ["*", "target_form"],
  ["example.com:443", "target_form"],
  ["", "target_form"],
  ["/api/v1/pods/%E0%A4%A/x", "bad_escape"],
  ["/api/v1/pods/%C0%AF/x", "bad_escape"],
  ["/api/v1/pods/shop/%", "bad_escape"],
  ["/api/v1/pods?namespace=%ZZ", "bad_escape"],
  ["/api/v1/pods?namespace=%FF", "bad_escape"],
  ["/api/v1/pods?__proto__=1", "reserved_parameter"],
  ["/api/v1/pods?constructor=1", "reserved_parameter"],
  ["/api/v1/pods?%5F%5Fproto%5F%5F=1", "reserved_parameter"],
  ["/api/v1/pods?prototype", "reserved_parameter"],
  ["/../metrics", "dot_segment"],
  ["/api/v1/pods/%2e%2E/x", "dot_segment"],
  ["/./healthz", "dot_segment"],
  ["/a\\b", "target_characters"],
  ["/a b", "target_characters"],
  ["/api#x", "target_characters"],
  ["/api?x=1#y", "target_characters"],
  ["/é", "target_characters"],
  [`/${"a".repeat(MAX_TARGET_LENGTH)}`, "target_too_long"],
];

/** No lone surrogate (encodeURIComponent throws on one: a client cannot send it). */
function wellFormed(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}
const segmentText = fc.string({ unit: "binary", maxLength: 12 }).filter(wellFormed);
/** Characters that matter to a URL parser, in any order. */
const urlish = fc.string({
  unit: fc.constantFrom(
    ..."/?#%&=+:@[]\\.~-_!$'()*,;AZaz09 é\u0000\ud800".split(""),
    "%2e",
    "%2F",
    "%C0",
    "%zz",
  ),
  maxLength: 40,
});

function expectConsistent(target: string): void {
  const t = parseRequestTarget(target);
  if (!t.ok) {
    expect(Object.keys(REFUSALS)).toContain(t.reason);
    expect(t.message.length).toBeGreaterThan(0);
    return;
  }
  expect(t.path.startsWith("/")).toBe(true);
  expect(["", `?${t.query}`]).toContain(target.slice(t.path.length));
  const url = targetUrl(t);
  expect(url.pathname).toBe(t.path);
  expect([...url.searchParams]).toEqual([...new URLSearchParams(t.query)]);
  for (const segment of t.path.split("/").slice(1)) {
    const decoded = decodeURIComponent(segment); // throws, failing the property, on a bad escape
    expect([".", ".."]).not.toContain(decoded);
  }
  for (const key of url.searchParams.keys())
    expect(["__proto__", "constructor", "prototype"]).not.toContain(key);
}

describe("parseRequestTarget", () => {
  it.each(HOSTILE)("refuses %j (%s)", (target, reason) => {
    const t = parseRequestTarget(target);
    expect(t).toMatchObject({ ok: false, reason });
    expect(() => expectConsistent(target)).not.toThrow();
  });

  it("names the reserved parameter it refuses", () => {
    expect(parseRequestTarget("/x?a=1&constructor=2")).toMatchObject({ parameter: "constructor" });
  });

  it("never throws and is consistent on any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => expectConsistent(s)),
      { numRuns: 3000 },
    );
  });

  it("never throws and is consistent on URL-like strings", () => {
    fc.assert(
      fc.property(urlish, fc.boolean(), (s, rooted) => expectConsistent(rooted ? `/${s}` : s)),
      { numRuns: 5000 },
    );
  });

  it("accepts every origin-form target a client builds with encodeURIComponent, decoding to what it encoded", () => {
    const name = segmentText.filter((s) => s !== "." && s !== "..");
    const key = fc
      .string({ unit: "binary", maxLength: 8 })
      .filter(wellFormed)
      .filter((k) => !["__proto__", "constructor", "prototype"].includes(k));
    fc.assert(
      fc.property(
        fc.array(name, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(key, segmentText), { maxLength: 4 }),
        (segments, params) => {
          const path = `/${segments.map(encodeURIComponent).join("/")}`;
          const query = new URLSearchParams(params).toString();
          const t = parseRequestTarget(query ? `${path}?${query}` : path);
          expect(t).toMatchObject({ ok: true, path, query });
          const url = targetUrl(t as { path: string; query: string });
          expect(url.pathname.split("/").slice(1).map(decodeURIComponent)).toEqual(segments);
          expect([...url.searchParams]).toEqual(params);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
