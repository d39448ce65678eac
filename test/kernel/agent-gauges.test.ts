/**
 * Per-pod socket-state gauges against `ss` in the same network namespace, for real: TIME_WAIT piling up and
 * draining, half-open SYN_RECV from raw SYNs, a CLOSE_WAIT leak, listeners and top destinations.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeSummary, PodEntry } from "../../agent/wire/summary.js";
import { type AgentProcess, entryOf, startAgent, waitReady } from "../support/agent-process.js";
import { createPodNetwork, exec, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { runClient, type ServerHandle, startServer, synBurst } from "../support/traffic.js";

/** Sockets in `state` inside the pod's netns, as ss counts them. */
async function ssCount(pod: Pod, state: string): Promise<number> {
  return (await exec(pod, ["ss", "-Htan", "state", state])).split("\n").filter(Boolean).length;
}

async function nextSummary(agent: AgentProcess, skip = 1): Promise<NodeSummary> {
  const target = agent.summaries.length + skip;
  return agent.waitForSummary(() => agent.summaries.length >= target, skip * 3000 + 10_000);
}

function pod(summary: NodeSummary, p: Pod): PodEntry {
  const entry = entryOf(summary, p.netns);
  if (!entry)
    throw new Error(`no entry for ${p.netns} in ${JSON.stringify(summary.pods.map((x) => x.owner))}`);
  return entry;
}

function socketsOf(summary: NodeSummary, p: Pod): NonNullable<PodEntry["sockets"]> {
  const sockets = pod(summary, p).sockets;
  if (!sockets) throw new Error(`no socket gauges for ${p.netns}`);
  return sockets;
}

describe("agent: per-pod socket gauges (real kernel, standalone)", () => {
  let net: PodNetwork;
  let a: Pod;
  let b: Pod;
  let c: Pod;
  let agent: AgentProcess;
  const servers: ServerHandle[] = [];

  beforeAll(async () => {
    net = await createPodNetwork({ prefix: "tg" });
    a = await net.addPod("a", { ipv4: "10.244.3.11", ipv6: "fd00:244:3::11" });
    b = await net.addPod("b", { ipv4: "10.244.3.12", ipv6: "fd00:244:3::12" });
    c = await net.addPod("c", { ipv4: "10.244.3.13", ipv6: "fd00:244:3::13" });
    agent = await startAgent(["--standalone", "--interval", "1s"]);
    await waitReady(agent);
  });

  afterAll(async () => {
    const code = await agent?.stop();
    for (const s of servers) await s.stop().catch(() => undefined);
    await net?.destroy();
    expect(code).toBe(0);
  });

  it("reports A's TIME_WAIT as ss counts it, B's as 0, its top destinations, and drains to 0 with ss", async () => {
    const N = 300;
    servers.push(await startServer(b, b.ipv4, 8080));
    const before = agent.summaries.length;
    expect(
      await runClient(a, { host: b.ipv4, port: 8080, count: N, concurrency: 4, mode: "close-first" }),
    ).toMatchObject({ ok: N });
    const s = await nextSummary(agent, 3);
    const truth = await ssCount(a, "time-wait");
    const onB = await ssCount(b, "time-wait");
    // ss is the truth the gauge is held to; the traffic only makes it large (now and then one connection's
    // last FIN is still on its way, leaving it in FIN_WAIT2 on A and CLOSE_WAIT on B).
    expect(truth).toBeGreaterThanOrEqual(N * 0.98);
    expect(Math.abs(socketsOf(s, a).TIME_WAIT - truth)).toBeLessThanOrEqual(truth * 0.01);
    expect(socketsOf(s, b).TIME_WAIT).toBe(onB);
    expect(socketsOf(s, b).LISTEN).toBe(1);
    expect(pod(s, b).listeners).toContainEqual({
      address: b.ipv4,
      port: 8080,
      acceptQueue: 0,
      backlog: 511,
      synQueue: 0,
    });
    // Top destinations: connects summed over the windows since the traffic began, TIME_WAIT held now.
    const endpoint = `${b.ipv4}:8080`;
    const connects = agent.summaries
      .slice(before)
      .flatMap((x) => entryOf(x, a.netns)?.topDestinations.connects ?? [])
      .filter((d) => d.endpoint === endpoint)
      .reduce((sum, d) => sum + d.count, 0);
    expect(connects).toBe(N);
    // TIME_WAIT peers are listed again only once the count moved by a tenth (they cost the most to list): a
    // listing taken while the run was still going stands until then.
    const heldTimeWait = pod(s, a).topDestinations.timeWait[0];
    expect(heldTimeWait?.endpoint).toBe(endpoint);
    expect(Math.abs((heldTimeWait?.count ?? 0) - truth)).toBeLessThanOrEqual(Math.max(1, truth / 10));
    const metrics = (await agent.get("/metrics")).text;
    expect(metrics).toContain(
      `tcpstate_agent_pod_sockets{namespace="",pod="${a.netns}",workload="",state="TIME_WAIT",estimated="false"} ${socketsOf(s, a).TIME_WAIT}`,
    );

    // TIME_WAIT lasts 60 s (TCP_TIMEWAIT_LEN): the gauge follows ss down to 0.
    await expect.poll(() => ssCount(a, "time-wait"), { timeout: 75_000, interval: 1000 }).toBe(0);
    const drained = await nextSummary(agent, 2);
    expect(socketsOf(drained, a).TIME_WAIT).toBe(0);
    expect(pod(drained, a).topDestinations.timeWait).toEqual([]);
  }, 120_000);

  it("reports a SYN_RECV buildup as ss counts it, names the port, and SYN cookies when the queue fills", async () => {
    servers.push(await startServer(b, b.ipv4, 8081));
    servers.push(await startServer(b, b.ipv4, 8082, { backlog: 16 }));
    const before = agent.summaries.length;
    // Raw SYNs from addresses nobody owns: B's SYN-ACKs go nowhere and its request socks stay half-open.
    await synBurst(c, "10.244.3.99", b.ipv4, 8081, 150);
    await synBurst(c, "10.244.3.98", b.ipv4, 8082, 60);
    const s = await nextSummary(agent, 2);
    const truth = await ssCount(b, "syn-recv");
    expect(truth).toBeGreaterThanOrEqual(150 + 16);
    expect(Math.abs(socketsOf(s, b).SYN_RECV - truth)).toBeLessThanOrEqual(truth * 0.05);
    const byPort = new Map(pod(s, b).listeners.map((l) => [l.port, l]));
    expect(byPort.get(8081)).toMatchObject({ synQueue: 150, backlog: 511 });
    expect(byPort.get(8082)?.backlog).toBe(16);
    expect(byPort.get(8082)?.synQueue).toBeGreaterThanOrEqual(16);
    const cookies = agent.summaries
      .slice(before)
      .reduce((sum, x) => sum + (entryOf(x, b.netns)?.netnsCounters?.syncookies_sent ?? 0), 0);
    expect(cookies).toBeGreaterThan(0);
    expect((await agent.get("/metrics")).text).toMatch(
      new RegExp(
        `tcpstate_agent_pod_syncookies_sent_total\\{namespace="",pod="${b.netns}",workload=""\\} [1-9]`,
      ),
    );
    expect(socketsOf(s, a).SYN_RECV).toBe(0);
  });

  it("reports a CLOSE_WAIT leak as ss counts it", async () => {
    servers.push(await startServer(b, b.ipv4, 8083, { hold: true }));
    // The server never closes: each client's FIN leaves B's socket in CLOSE_WAIT; the client gives up waiting.
    const r = await runClient(a, {
      host: b.ipv4,
      port: 8083,
      count: 20,
      concurrency: 20,
      mode: "close-first",
      attemptTimeoutMs: 1500,
    });
    expect(r.failed).toBe(20);
    const s = await nextSummary(agent, 2);
    const truth = await ssCount(b, "close-wait");
    expect(truth).toBe(20);
    expect(socketsOf(s, b).CLOSE_WAIT).toBe(truth);
  });
});
