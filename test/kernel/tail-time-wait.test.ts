/**
 * `tcpstate tail --state TIME_WAIT`, the README's example, for real: pod A closes N connections to pod B first on
 * the real kernel → the agent's event program (bpftrace) → nats-server → collector → the built CLI. The kernel
 * never reports a TIME_WAIT state; each entry must still show as exactly one FIN_WAIT2 -> TIME_WAIT line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GAUGE_STATES } from "../../agent/wire/gauges.js";
import { type AgentProcess, CLI, runCli, startAgent, waitReady } from "../support/agent-process.js";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { createPodNetwork, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { runClient, type ServerHandle, startServer } from "../support/traffic.js";

const NODE = "node-tw";
const N = 50;
const PORT = 8080;
// After the N-th line: long enough for a second line per socket (or a stray close) to come through the stream.
const GRACE_MS = 3000;

describe("tail --state TIME_WAIT (real kernel, real bpftrace, nats-server, collector and CLI)", () => {
  let net: PodNetwork;
  let a: Pod;
  let b: Pod;
  let c: Pod;
  let nats: NatsServer;
  let collector: CollectorProcess;
  let agent: AgentProcess;
  let server: ServerHandle;
  let serverUrl: string;

  beforeAll(async () => {
    net = await createPodNetwork({ prefix: "tw" });
    a = await net.addPod("a", { ipv4: "10.244.13.11", ipv6: "fd00:244:13::11" });
    b = await net.addPod("b", { ipv4: "10.244.13.12", ipv6: "fd00:244:13::12" });
    c = await net.addPod("c", { ipv4: "10.244.13.13", ipv6: "fd00:244:13::13" });
    server = await startServer(b, "::", PORT);
    nats = await startNatsServer();
    collector = await startCollector(nats.url);
    await collector.waitReady();
    serverUrl = `http://127.0.0.1:${collector.port}`;
    agent = await startAgent([
      "--standalone",
      "--node-name",
      NODE,
      "--interval",
      "1s",
      "--nats-url",
      nats.url,
    ]);
    await waitReady(agent);
  });

  afterAll(async () => {
    if (agent) expect(await agent.stop()).toBe(0);
    if (collector) expect(await collector.stop()).toBe(0);
    await server?.stop().catch(() => undefined);
    await nats?.destroy();
    await net?.destroy();
  });

  /** Lines `tail` printed for `pod` (standalone owners are netns, shown as `<name>@<node>`). */
  const linesOf = (lines: string[], pod: Pod) => lines.filter((l) => l.includes(`  ${pod.netns}@${NODE}  `));

  /**
   * Runs the built `tail` with `args` against the collector until `body` is done, then stops it as a user does
   * (SIGINT, exit 0). The agent starts its event program on the lease `tail` takes, asynchronously: before
   * `body` runs, pod C closes connections to B until one of them is shown, so `body`'s traffic is all seen.
   */
  async function withTail(args: string[], family: "ipv4" | "ipv6", body: (lines: string[]) => Promise<void>) {
    const tail: ChildProcess = spawn(process.execPath, [CLI, "tail", ...args, "--server", serverUrl], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    createInterface({ input: tail.stdout as NodeJS.ReadableStream }).on("line", (l) => lines.push(l));
    let stderr = "";
    tail.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    try {
      const deadline = Date.now() + 20_000;
      while (linesOf(lines, c).length === 0 && Date.now() < deadline) {
        await runClient(c, { host: b[family], port: PORT, count: 1, mode: "close-first" });
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(
        linesOf(lines, c).length,
        `no line for pod C within 20 s; tail stderr: ${stderr}`,
      ).toBeGreaterThan(0);
      await body(lines);
    } finally {
      tail.kill("SIGINT");
    }
    expect(await new Promise((r) => tail.once("close", r))).toBe(0);
  }

  for (const family of ["ipv4", "ipv6"] as const) {
    it(`shows each of N client-closed connections (${family}) as exactly one FIN_WAIT2 -> TIME_WAIT line of the client`, async () => {
      await withTail(["--state", "TIME_WAIT"], family, async (lines) => {
        const result = await runClient(a, { host: b[family], port: PORT, count: N, mode: "close-first" });
        expect(result).toMatchObject({ ok: N, failed: 0 });
        await expect
          .poll(() => linesOf(lines, a).length, { timeout: 20_000, interval: 200 })
          .toBeGreaterThanOrEqual(N);
        await new Promise((r) => setTimeout(r, GRACE_MS));

        const fromA = linesOf(lines, a);
        expect(fromA).toHaveLength(N);
        const endpoint = (pod: Pod) =>
          (family === "ipv4" ? pod.ipv4 : `[${pod.ipv6}]`).replace(/[.[\]]/g, "\\$&");
        const [addr, peer] = [endpoint(a), endpoint(b)];
        const line = new RegExp(`  FIN_WAIT2 -> TIME_WAIT  ${addr}:(\\d+) -> ${peer}:${PORT}$`);
        for (const l of fromA) expect(l).toMatch(line);
        // One line per socket: N distinct client ports.
        expect(new Set(fromA.map((l) => line.exec(l)?.[1])).size).toBe(N);
        // The server's ends closed second (CLOSE_WAIT -> LAST_ACK -> CLOSE): none of them enters TIME_WAIT.
        expect(linesOf(lines, b)).toEqual([]);
      });
    }, 90_000);
  }

  it("shows every state --state offers on a connection's two ends, but CLOSING (simultaneous close only)", async () => {
    await withTail([], "ipv4", async (lines) => {
      expect(await runClient(a, { host: b.ipv4, port: PORT, count: 1, mode: "close-first" })).toMatchObject({
        ok: 1,
      });
      const states = () =>
        new Set(
          [...linesOf(lines, a), ...linesOf(lines, b)].flatMap(
            (l) => / ([A-Z0-9_]+) -> ([A-Z0-9_]+) /.exec(l)?.slice(1) ?? [],
          ),
        );
      const offered = GAUGE_STATES.filter((s) => s !== "CLOSING");
      await expect
        .poll(() => offered.filter((s) => !states().has(s)), { timeout: 20_000, interval: 200 })
        .toEqual([]);
    });
  }, 90_000);

  it("offers in --help exactly the states the collector accepts, TIME_WAIT and CLOSE among them", async () => {
    const help = await runCli(["tail", "--help"]);
    const offered = /--state <states\.\.\.>[^(]*\(([A-Z0-9_, ]+)\)/.exec(
      help.stdout.replace(/\s+/g, " "),
    )?.[1];
    const states = offered?.split(", ") ?? [];
    expect(states).toContain("TIME_WAIT");
    expect(states).toContain("CLOSE");
    for (const state of states) {
      const abort = new AbortController();
      const res = await fetch(`${serverUrl}/api/v1/events?state=${state}`, { signal: abort.signal });
      abort.abort();
      expect(res.status, state).toBe(200);
    }
    expect((await collector.get("/api/v1/events?state=CLOSED")).status).toBe(400);
    const bad = await runCli(["tail", "--state", "CLOSED", "--server", serverUrl]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --state "CLOSED"/);
  });
});
