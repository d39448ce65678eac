/** What reaches the terminal from names the cluster (or any local user, through /proc) chose. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeForTerminal, jsonForTerminal } from "../../render/terminal-text.js";

/**
 * A terminal acts on or hides these: C0, DEL, C1, zero-width characters and marks, line and paragraph
 * separators, bidi embeddings, overrides and isolates, word joiners, BOM, tag characters, lone surrogates.
 * Listed by range here, apart from the implementation's Unicode categories.
 */
const RANGES: readonly [number, number][] = [
  [0x00, 0x1f],
  [0x7f, 0x9f],
  [0x200b, 0x200f],
  [0x2028, 0x202e],
  [0x2060, 0x2064],
  [0x2066, 0x2069],
  [0xfeff, 0xfeff],
  [0xd800, 0xdfff],
  [0xe0001, 0xe0001],
  [0xe0020, 0xe007f],
];
const DANGEROUS = RANGES.flatMap(([lo, hi]) => [lo, hi, Math.floor((lo + hi) / 2)]).map((cp) =>
  cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp),
);

/** The first dangerous code point in `text` (lone surrogates included), or null. */
function firstDangerous(text: string, allow = ""): string | null {
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i) as number;
    if (cp > 0xffff) i++;
    if (allow.includes(String.fromCodePoint(cp))) continue;
    if (RANGES.some(([lo, hi]) => cp >= lo && cp <= hi)) return `U+${cp.toString(16)}`;
  }
  return null;
}

/** Any UTF-16 text, weighted towards what attacks a terminal. */
const hostileText = fc.string({
  unit: fc.oneof(
    fc.constantFrom(...DANGEROUS),
    fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)),
    fc.integer({ min: 0x10000, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)),
  ),
  maxLength: 40,
});

/** What names are made of: ASCII and other characters a terminal just shows. */
const printableText = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((u) => String.fromCharCode(u)),
    fc.constantFrom("é", "ß", "日本", "—", "▁", "█", "€", "😀", "ü"),
  ),
  maxLength: 40,
});

describe("escapeForTerminal", () => {
  it("leaves no control, bidi or invisible format character in what it returns", () => {
    fc.assert(
      fc.property(hostileText, (text) => firstDangerous(escapeForTerminal(text)) === null),
      { numRuns: 2000 },
    );
  });

  it("returns printable text unchanged", () => {
    fc.assert(fc.property(printableText, (text) => escapeForTerminal(text) === text));
  });

  it("shows each one as a visible escape of its code, where it was", () => {
    expect(escapeForTerminal("web-\x1b[2J\x1b]0;pwned\x07-1")).toBe("web-\\x1b[2J\\x1b]0;pwned\\x07-1");
    expect(escapeForTerminal("api\u202eexe.txt")).toBe("api\\u202eexe.txt");
    expect(escapeForTerminal("a\tb\nc\rd\x00e\x7f\x9b")).toBe("a\\tb\\nc\\rd\\x00e\\x7f\\x9b");
    expect(escapeForTerminal("\u2066x\u2069\u200b\ufeff\u2028")).toBe("\\u2066x\\u2069\\u200b\\ufeff\\u2028");
    expect(escapeForTerminal("tag\u{e0041}")).toBe("tag\\u{e0041}");
    expect(escapeForTerminal("lone\ud800")).toBe("lone\\ud800");
    expect(escapeForTerminal("pair😀")).toBe("pair😀");
  });

  it("is idempotent: escaping escaped text again changes nothing", () => {
    fc.assert(
      fc.property(hostileText, (text) => {
        const once = escapeForTerminal(text);
        return escapeForTerminal(once) === once;
      }),
    );
  });
});

describe("jsonForTerminal", () => {
  it("is JSON of the same value with nothing a terminal acts on, beyond its own layout newlines", () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: "binary" }), hostileText, (value, name) => {
        const doc = { name, value };
        const compact = jsonForTerminal(doc);
        const indented = jsonForTerminal(doc, 2);
        expect(JSON.parse(compact)).toEqual(JSON.parse(JSON.stringify(doc)));
        expect(JSON.parse(indented)).toEqual(JSON.parse(JSON.stringify(doc)));
        expect(firstDangerous(compact)).toBeNull();
        expect(firstDangerous(indented, "\n")).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it("writes what JSON.stringify leaves raw (DEL, C1, bidi) as \\u escapes", () => {
    expect(jsonForTerminal({ pod: "a\x7f\x9b31m\u202e\u{e0041}" })).toBe(
      '{"pod":"a\\u007f\\u009b31m\\u202e\\udb40\\udc41"}',
    );
    expect(jsonForTerminal({ pod: "shop-1" }, 2)).toBe(JSON.stringify({ pod: "shop-1" }, null, 2));
  });
});
