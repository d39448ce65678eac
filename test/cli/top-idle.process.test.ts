/**
 * `tcpstate top` leaves out entries with nothing in the window (an empty CNI netns) and says how many, and
 * `--show-idle` lists them; `--interval` takes a duration like every other duration flag.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceHttp } from "../../common/service-http.js";
import { runCli } from "../support/agent-process.js";
import { modelWithIdleNetns } from "../support/idle-model.js";
import { serveModel } from "../support/model-http.js";

describe("tcpstate top and idle entries", () => {
  let http: ServiceHttp;
  let server: string;

  beforeAll(async () => {
    const { model, now } = modelWithIdleNetns(24);
    http = await serveModel(model, { clock: () => now });
    server = `http://127.0.0.1:${http.port}`;
  });
  afterAll(() => http?.close());

  const rows = (stdout: string) =>
    stdout.split("\n").filter((l) => l.includes("node-1") || l.startsWith("shop"));

  it("hides the idle netns by default and says how many were hidden and which flag shows them", async () => {
    const r = await runCli(["top", "-A", "--window", "1m", "--server", server]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^shop\s+api\s/m);
    expect(r.stdout).not.toContain("cni-leftover");
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe(
      "1 idle entry (no transitions, sockets or listeners in the window) hidden: --show-idle lists them.",
    );
  });

  it("lists it with --show-idle, and says nothing of hidden entries", async () => {
    const r = await runCli(["top", "-A", "--window", "1m", "--show-idle", "--server", server]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\(netns@node-1\)\s+cni-leftover\s/m);
    expect(rows(r.stdout)).toHaveLength(2);
    expect(r.stdout).not.toContain("hidden");
  });

  it("refuses a bare number for --interval like every duration flag, naming the flag and the form", async () => {
    const r = await runCli(["top", "--watch", "--interval", "2", "--server", server]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'invalid --interval: expected a duration like 5s, 500ms, 1m or 1h30m, got "2"',
    );
    const help = await runCli(["top", "--help"]);
    expect(help.stdout).toMatch(
      /--interval <duration>\s+redraw interval with --watch \(e\.g\. 500ms, 2s, 1m\)/,
    );
  });
});
