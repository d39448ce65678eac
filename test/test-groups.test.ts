/**
 * The unit/system split (test/test-groups.ts) holds: no unit test reaches, through its imports or those of the
 * test helpers it uses, what starts a process or talks to a server (child processes, NATS, a browser).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isUnitTest, SYSTEM_FOLDERS } from "./test-groups.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Modules a unit test may not import, directly or through a helper in test/. */
const SYSTEM_MODULES = /^(node:)?child_process$|^execa$|^@nats-io\/|^playwright/;

function testFiles(dir = "test"): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : [],
  );
}

/** The import chain from `file` to a system module, or null: follows relative imports that stay in test/. */
function systemImport(file: string, seen = new Set<string>()): string[] | null {
  if (seen.has(file)) return null;
  seen.add(file);
  const text = readFileSync(path.join(ROOT, file), "utf8");
  for (const m of text.matchAll(
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']/gm,
  )) {
    const spec = (m[1] ?? m[2]) as string;
    if (SYSTEM_MODULES.test(spec)) return [file, spec];
    if (!spec.startsWith(".")) continue;
    const target = path.posix.join(path.posix.dirname(file), spec).replace(/\.js$/, ".ts");
    if (!target.startsWith("test/")) continue;
    const chain = systemImport(target, seen);
    if (chain) return [file, ...chain];
  }
  return null;
}

describe("unit and system tests", () => {
  const files = testFiles().filter((f) => f.endsWith(".test.ts"));
  const unit = files.filter(isUnitTest);

  it("selects unit tests from every side of the tree, and leaves the system folders out", () => {
    for (const folder of ["agent", "collector", "common", "hostile", "render"])
      expect(unit.some((f) => f.startsWith(`test/${folder}/`))).toBe(true);
    for (const folder of SYSTEM_FOLDERS)
      expect(unit.some((f) => f.startsWith(`test/${folder}/`))).toBe(false);
  });

  it.each(unit)("%s imports nothing that starts a process or talks to a server", (file) => {
    expect(systemImport(file)).toBeNull();
  });

  it("finds a system import through a helper (the check can fail)", () => {
    expect(systemImport("test/cli/top-idle.process.test.ts")).toEqual([
      "test/cli/top-idle.process.test.ts",
      "test/support/agent-process.ts",
      "node:child_process",
    ]);
  });
});
