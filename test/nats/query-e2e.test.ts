/**
 * The query side end to end, for real: pod A churns toward pods B and C at known rates on the real kernel →
 * agent → nats-server → collector (naming peers from a kube API). `tcpstate top` ranks A, B, C by churn with A's
 * rate and names B as A's top destination; `tcpstate tail` streams A's transitions and the agent's event program
 * stops after it exits; a real Prometheus scrapes the collector; headless Chromium loads the dashboard.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AgentProcess,
  bpftraceChildren,
  CLI,
  kubeAgentArgs,
  runCli,
  startAgent,
  waitReady,
} from "../support/agent-process.js";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "../support/fake-kube-api.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { createPodNetwork, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";
import { TOP_HEADER } from "../support/top-table.js";
import { type ChurnResult, runChurn, type ServerHandle, startServer } from "../support/traffic.js";

const RATE = 200; // connections per second from A to B
// A also churns toward C, more slowly. Without it A and B would tie on churn (each connection is one active open
// on A and one passive open on B), and which of them a window ranks first would be chance.
const SIDE_RATE = 50;
const A_CHURN = RATE + SIDE_RATE;
// Long enough to outlast every test that reads a rate (the Prometheus one starts about 60 s in).
const CHURN_SECONDS = 100;
const NODE = "node-q";

describe("query end to end: top, tail, Prometheus, dashboard (real kernel, real nats-server)", () => {
  let net: PodNetwork;
  let a: Pod;
  let b: Pod;
  let c: Pod;
  let api: FakeKubeApi;
  let dir: string;
  let nats: NatsServer;
  let collector: CollectorProcess;
  let agent: AgentProcess;
  let server: ServerHandle;
  let sideServer: ServerHandle;
  let churn: Promise<ChurnResult>;
  let sideChurn: Promise<ChurnResult>;
  let churnStarted = 0;
  let server_url: string;

  beforeAll(async () => {
    net = await createPodNetwork({ prefix: "tq" });
    a = await net.addPod("a", { ipv4: "10.244.8.11", ipv6: "fd00:244:8::11" });
    b = await net.addPod("b", { ipv4: "10.244.8.12", ipv6: "fd00:244:8::12" });
    c = await net.addPod("c", { ipv4: "10.244.8.13", ipv6: "fd00:244:8::13" });
    api = await startFakeKubeApi();
    api.addPod(
      makePod({
        namespace: "shop",
        name: "a",
        node: NODE,
        ips: [a.ipv4, a.ipv6],
        owner: { kind: "ReplicaSet", name: "client-5d9f" },
      }),
    );
    api.addPod(makePod({ namespace: "shop", name: "b", node: NODE, ips: [b.ipv4, b.ipv6] }));
    api.addPod(makePod({ namespace: "shop", name: "c", node: NODE, ips: [c.ipv4, c.ipv6] }));
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-query-e2e-"));
    const kubeconfig = await api.writeKubeconfig(dir);
    server = await startServer(b, b.ipv4, 8080);
    sideServer = await startServer(c, c.ipv4, 8080);
    nats = await startNatsServer();
    collector = await startCollector(nats.url, ["--kubeconfig", kubeconfig]);
    await collector.waitReady();
    server_url = `http://127.0.0.1:${collector.port}`;
    agent = await startAgent([...kubeAgentArgs(NODE, kubeconfig), "--nats-url", nats.url]);
    await waitReady(agent);
    churnStarted = Date.now();
    churn = runChurn(a, { host: b.ipv4, port: 8080, seconds: CHURN_SECONDS, concurrency: 4, rate: RATE });
    sideChurn = runChurn(a, {
      host: c.ipv4,
      port: 8080,
      seconds: CHURN_SECONDS,
      concurrency: 1,
      rate: SIDE_RATE,
    });
    // Let 35 s of steady churn reach the collector: a 30 s query window then holds churn only, and 30 of the
    // agent's 1 s kernel-map reads, so one read landing in the next window moves the rate by 3.3%, within ±5%.
    await new Promise((r) => setTimeout(r, 35_000));
  }, 90_000);

  afterAll(async () => {
    await churn?.catch(() => undefined);
    await sideChurn?.catch(() => undefined);
    if (agent) expect(await agent.stop()).toBe(0);
    if (collector) expect(await collector.stop()).toBe(0);
    await server?.stop().catch(() => undefined);
    await sideServer?.stop().catch(() => undefined);
    await nats?.destroy();
    await api?.stop();
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 90_000);

  it("`tcpstate top --sort churn` ranks A, B, C, with A's rate (±5%) and B's name as A's top destination", async () => {
    // -n shop: other processes on this host (other test runs) may churn too; the test's pods are in shop.
    const json = await runCli([
      "top",
      "-n",
      "shop",
      "--sort",
      "churn",
      "--window",
      "30s",
      "-o",
      "json",
      "--server",
      server_url,
    ]);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout) as {
      pods: {
        namespace: string;
        name: string;
        churnPerSecond: number;
        topDestinations: { connects: { peer: string | null }[] };
      }[];
    };
    expect(body.pods.map((p) => p.name)).toEqual(["a", "b", "c"]);
    const top = body.pods[0];
    expect(top?.churnPerSecond).toBeGreaterThanOrEqual(A_CHURN * 0.95);
    expect(top?.churnPerSecond).toBeLessThanOrEqual(A_CHURN * 1.05);
    // A pod's top destinations are those of its newest 1 s window, which a kernel-map read can miss (it then
    // lands in the next): ask again until a window has them.
    const topPeer = async () => {
      const again = await runCli(["top", "-n", "shop", "-o", "json", "--server", server_url]);
      return (JSON.parse(again.stdout) as typeof body).pods.find((p) => p.name === "a")?.topDestinations
        .connects[0]?.peer;
    };
    await expect.poll(topPeer, { timeout: 10_000, interval: 500 }).toBe("shop/b:8080");
    // The table a user reads: header, then the rows in that order.
    const table = await runCli(["top", "-n", "shop", "--window", "10s", "--server", server_url]);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split("\n");
    expect(header?.split(/\s+/)).toEqual(TOP_HEADER);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 2).join("/"))).toEqual(["shop/a", "shop/b", "shop/c"]);
  });

  it("`tcpstate pod` shows A with B named, and errors exit 1 (server) or 2 (usage)", async () => {
    const pod = await runCli(["pod", "shop/a", "--window", "1m", "--server", server_url]);
    expect(pod.code).toBe(0);
    expect(pod.stdout).toMatch(/^Pod: +shop\/a/m);
    expect(pod.stdout).toMatch(/10\.244\.8\.12:8080 +shop\/b:8080 +\d+ (connects|TIME_WAIT)/);
    const missing = await runCli(["pod", "shop/nope", "--server", server_url]);
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toMatch(/pod shop\/nope not found/);
    const badSort = await runCli(["top", "--sort", "bogus", "--server", server_url]);
    expect(badSort.code).toBe(2);
    const badWindow = await runCli(["top", "--window", "forever", "--server", server_url]);
    expect(badWindow).toMatchObject({ code: 2 });
    expect(badWindow.stderr).toMatch(/window="forever"/);
    const down = await runCli(["top", "--server", "http://127.0.0.1:9"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the collector at http:\/\/127\.0\.0\.1:9 .*port-forward/);
  });

  it("`tcpstate tail --pod a` streams A's transitions live, and the agent's event program stops after it exits", async () => {
    expect(bpftraceChildren(agent)).toHaveLength(1);
    const tail: ChildProcess = spawn(process.execPath, [CLI, "tail", "--pod", "a", "--server", server_url], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    createInterface({ input: tail.stdout as NodeJS.ReadableStream }).on("line", (l) => lines.push(l));
    try {
      await expect
        .poll(
          () =>
            lines.some((l) =>
              /shop\/a +SYN_SENT -> ESTABLISHED +10\.244\.8\.11:\d+ -> 10\.244\.8\.12:8080 \(shop\/b:8080\)/.test(
                l,
              ),
            ),
          {
            timeout: 20_000,
            interval: 200,
          },
        )
        .toBe(true);
      expect(bpftraceChildren(agent)).toHaveLength(2);
      expect(lines.every((l) => l.includes(" shop/a "))).toBe(true);
    } finally {
      tail.kill("SIGINT");
    }
    expect(await new Promise((r) => tail.once("close", r))).toBe(0);
    // The lease lapses within seconds: the per-event bpftrace goes away.
    await expect.poll(() => bpftraceChildren(agent).length, { timeout: 20_000, interval: 500 }).toBe(1);
  }, 60_000);

  it("a real Prometheus scrapes the collector: A's TIME_WAIT gauge and churn come back through PromQL", async () => {
    const prom: Prometheus = await startPrometheus([`127.0.0.1:${collector.port}`]);
    try {
      const value = async (q: string) => Number((await prom.query(q))[0]?.value[1] ?? Number.NaN);
      await expect
        .poll(() => value('tcpstate_pod_sockets{namespace="shop",pod="a",state="TIME_WAIT"}'), {
          timeout: 20_000,
        })
        .toBeGreaterThan(1000);
      // Churn as a user charts it: the rate of A's opens over 10 s of 1 s scrapes (the churn gauge is the newest
      // 1 s window's, which holds 0, 1 or 2 of the agent's kernel-map reads).
      const opens =
        'tcpstate_pod_transitions_total{namespace="shop",pod="a",workload="ReplicaSet/client-5d9f",transition=~"active_opens|passive_opens"}';
      await expect
        .poll(() => value(`count_over_time(${opens}[11s])`), { timeout: 30_000 })
        .toBeGreaterThanOrEqual(10);
      const churnNow = await value(`sum(rate(${opens}[10s]))`);
      expect(churnNow).toBeGreaterThan(A_CHURN * 0.8);
      expect(churnNow).toBeLessThan(A_CHURN * 1.2);
      expect(
        await value(
          'tcpstate_pod_churn_per_second{namespace="shop",pod="a",workload="ReplicaSet/client-5d9f"}',
        ),
      ).toBeGreaterThanOrEqual(0);
      expect(await value('tcpstate_namespace_sockets{namespace="shop",state="TIME_WAIT"}')).toBeGreaterThan(
        1000,
      );
      // B holds no TIME_WAIT: A closes first.
      expect(await value('tcpstate_pod_sockets{namespace="shop",pod="b",state="TIME_WAIT"}')).toBe(0);
    } finally {
      await prom.stop();
    }
  }, 60_000);

  it("the dashboard loads in headless Chromium with no console errors, A on top and a chart drawn", async () => {
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    const errors: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(server_url);
      await page.selectOption("#namespace", "shop");
      await page.waitForSelector('#pods tbody tr[data-pod="shop/a"]');
      const firstRow = await page.$$eval("#pods tbody tr:first-child td", (tds) =>
        tds.map((td) => td.textContent),
      );
      expect(firstRow.slice(0, 2)).toEqual(["shop", "a"]);
      await page.waitForSelector("#chart-churn canvas");
      await page.waitForSelector("#destinations tbody tr");
      expect(await page.textContent("#destinations")).toContain("shop/b:8080");
      await mkdir("test-artifacts", { recursive: true });
      await page.screenshot({ path: "test-artifacts/dashboard.png", fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it("the churn ran at the rates the test relies on", async () => {
    // Both finished first: the rate is what they did over the time they ran.
    const [toB, toC] = [await churn, await sideChurn];
    const seconds = Math.min((Date.now() - churnStarted) / 1000, CHURN_SECONDS);
    for (const [result, rate] of [
      [toB, RATE],
      [toC, SIDE_RATE],
    ] as const) {
      expect(result.failed).toBe(0);
      expect(result.connections / seconds).toBeGreaterThan(rate * 0.95);
    }
  }, 60_000);
});
