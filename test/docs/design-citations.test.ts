/**
 * The design notes the code cites are in the repository and have the sections cited: wherever the sources,
 * tests, chart or scripts cite docs/design.md followed by a quoted section name, that section is a `##` heading.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FOLDERS = ["agent", "bench", "cli", "collector", "common", "helm", "local", "scripts", "test"];
const TEXT = /\.(ts|js|mjs|bt|c|md|yaml|yml|json|tpl|sh|css|html)$/;
const CITATION = /docs\/design\.md, "([^"]+)"/g;

function files(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(`${dir}/${e.name}`) : TEXT.test(e.name) ? [`${dir}/${e.name}`] : [],
  );
}

function citations(): { file: string; section: string }[] {
  return FOLDERS.flatMap(files).flatMap((file) =>
    [...readFileSync(path.join(ROOT, file), "utf8").matchAll(CITATION)].map((m) => ({
      file,
      section: m[1] as string,
    })),
  );
}

const headings = new Set(
  [...readFileSync(path.join(ROOT, "docs/design.md"), "utf8").matchAll(/^## (.+)$/gm)].map((m) => m[1]),
);

describe("docs/design.md", () => {
  it("has every section the code cites", () => {
    const found = citations();
    // The counter definitions and the gauge sources are cited from the code that implements them.
    expect(found.map((c) => c.file)).toEqual(
      expect.arrayContaining(["agent/wire/counters.ts", "agent/gauges/derived-gauges.ts"]),
    );
    expect(found.filter((c) => !headings.has(c.section))).toEqual([]);
  });

  it("is the only design document cited: no citation of a DESIGN.md outside docs/", () => {
    const bare = /(?<!docs\/)DESIGN\.md/i;
    const stray = FOLDERS.flatMap(files).filter(
      (file) =>
        file !== "test/docs/design-citations.test.ts" &&
        bare.test(readFileSync(path.join(ROOT, file), "utf8")),
    );
    expect(stray).toEqual([]);
  });
});
