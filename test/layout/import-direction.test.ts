/**
 * Dependencies flow one way: cli/ is the top (its commands wire everything), so nothing under agent/, collector/,
 * common/, local/ or render/ imports it; render/ (the text both cli/ and local/ print) imports neither of them;
 * netns-lab/ (pods and traffic for the demo, the tests and the benchmarks) stands alone; and what ships imports
 * nothing from test/ or bench/.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : [],
  );
}

/** The top folders `file` imports from (relative imports only), e.g. "collector" for "../collector/x.js". */
function importedFolders(file: string): Set<string> {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  const out = new Set<string>();
  for (const m of text.matchAll(/\bfrom\s+["'](\.[^"']+)["']|\bimport\(\s*["'](\.[^"']+)["']\s*\)/g)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), (m[1] ?? m[2]) as string));
    out.add(target.split("/")[0] as string);
  }
  return out;
}

/** Files of `folders` that import any of `forbidden`, as "file → folder". */
function violations(folders: string[], forbidden: string[]): string[] {
  return folders
    .flatMap(sources)
    .flatMap((file) =>
      [...importedFolders(file)].filter((f) => forbidden.includes(f)).map((f) => `${file} → ${f}/`),
    );
}

describe("import direction", () => {
  it("finds the imports it checks (the scan sees cli/ importing render/)", () => {
    expect(importedFolders("cli/top-command.ts")).toContain("render");
  });

  it("nothing below cli/ imports cli/", () => {
    expect(violations(["agent", "collector", "common", "local", "render"], ["cli"])).toEqual([]);
  });

  it("render/ imports neither cli/ nor local/", () => {
    expect(violations(["render"], ["cli", "local"])).toEqual([]);
  });

  it("netns-lab/ imports none of the product's folders", () => {
    expect(
      violations(["netns-lab"], ["agent", "collector", "common", "cli", "local", "render", "test", "bench"]),
    ).toEqual([]);
  });

  it("what ships imports nothing from test/ or bench/", () => {
    const shipped = ["agent", "collector", "common", "cli", "local", "netns-lab", "render"];
    expect(violations(shipped, ["test", "bench"])).toEqual([]);
  });
});
