import { mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RulesConfig } from "../../../collector/alerts/rules-file.js";
import { RulesWatcher } from "../../../collector/alerts/rules-watcher.js";

describe("rules file reload", () => {
  let dir: string;
  let file: string;
  let watcher: RulesWatcher | undefined;
  const applied: RulesConfig[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-rules-"));
    file = path.join(dir, "rules.yaml");
    await writeFile(file, "rules: {}\n");
    applied.length = 0;
  });
  afterEach(async () => {
    watcher?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const start = () => {
    watcher = new RulesWatcher(file, (r) => applied.push(r), pino({ level: "silent" }), 50);
    return watcher;
  };

  it("applies a changed file, rejects a bad one and keeps what is in force, survives the file going away", async () => {
    const w = start();
    await writeFile(file, "rules:\n  CloseWaitLeak: {floor: 99}\n");
    await expect.poll(() => applied.length).toBe(1);
    expect(applied[0]?.CloseWaitLeak.floor).toBe(99);

    await writeFile(file, "rules:\n  CloseWaitLeak: {floor: -1}\n");
    await expect.poll(() => w.failures).toBe(1);
    expect(applied).toHaveLength(1);

    await unlink(file);
    await expect.poll(() => w.failures).toBe(2);
    await writeFile(file, "rules:\n  CloseWaitLeak: {floor: 7}\n");
    await expect.poll(() => applied.length).toBe(2);
    expect(applied[1]?.CloseWaitLeak.floor).toBe(7);
    expect(w.reloads).toBe(2);
  });

  it("an unchanged file is not read again", async () => {
    const w = start();
    await new Promise((r) => setTimeout(r, 300));
    expect(w.reloads + w.failures).toBe(0);
  });
});
