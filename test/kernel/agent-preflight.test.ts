/** Start-up failures a user hits first: each stops the agent with exit code 2 and says how to fix it. */
import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/agent-process.js";
import { asNobody } from "../support/child-process.js";

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      argv[0] as string,
      argv.slice(1),
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
    );
  });
}

const agent = (...args: string[]) => [
  process.execPath,
  CLI,
  "agent",
  "--metrics-addr",
  "127.0.0.1:0",
  ...args,
];

describe("agent start-up errors", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-preflight-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("names a bad flag value and its env var", async () => {
    const r = await run(agent("--standalone", "--interval", "0s"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid --interval (env INTERVAL): must be between 1s and 5m, got "0s"');
  });

  it("reads flags from the environment", async () => {
    const r = await run(agent("--standalone"), { INTERVAL: "soon" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'invalid --interval (env INTERVAL): expected a duration like 5s, 500ms, 1m or 1h30m, got "soon"',
    );
  });

  it("requires a node name outside standalone mode", async () => {
    const r = await run(agent(), { NODE_NAME: "" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("invalid --node-name (env NODE_NAME)");
  });

  it("says bpftrace is missing", async () => {
    const r = await run(agent("--standalone", "--bpftrace", "/nonexistent/bpftrace"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bpftrace not found (--bpftrace /nonexistent/bpftrace)");
    expect(r.stderr).toContain("[BPFTRACE_MISSING]");
  });

  it("says bpftrace is too old", async () => {
    const fake = path.join(dir, "bpftrace");
    await writeFile(fake, "#!/bin/sh\necho 'bpftrace v0.16.0'\n");
    await chmod(fake, 0o755);
    const r = await run(agent("--standalone", "--bpftrace", fake));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bpftrace v0.16.0 is too old: tcpstate needs 0.17.0 or newer");
  });

  it("says it must run as root", async () => {
    const r = await run(asNobody(agent("--standalone")));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("must run as root (uid 0), it runs as uid 65534");
  });

  it("names an unreadable NATS secret file", async () => {
    const r = await run(
      agent("--standalone", "--nats-url", "nats://127.0.0.1:1", "--nats-password-file", `${dir}/missing`),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`invalid --nats-password-file: cannot read ${dir}/missing`);
  });

  it("says tracefs is not mounted", async () => {
    const r = await run(agent("--standalone", "--tracefs", dir));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`tracefs is not mounted at ${dir}`);
  });
});
