/**
 * End to end for real: two agents (two node names, their own pods in a fake kube API) on the real kernel →
 * real nats-server → collector. The collector's per-pod totals equal the traffic made, also across a 30 s NATS
 * outage while traffic runs.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, kubeAgentArgs, startAgent, waitReady } from "../support/agent-process.js";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "../support/fake-kube-api.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { createPodNetwork, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { runClient, type ServerHandle, startServer } from "../support/traffic.js";

type Totals = Record<string, { active_opens: number; passive_opens: number; closes: number }>;

async function totalsByPod(c: CollectorProcess): Promise<Totals> {
  const body = (await c.get("/api/v1/pods")).json() as {
    pods: { kind: string; node: string; name: string; total: Totals[string] }[];
  };
  const out: Totals = {};
  for (const p of body.pods) if (p.kind === "pod") out[`${p.node}/${p.name}`] = p.total;
  return out;
}

describe("two agents → NATS → collector (real kernel, real nats-server)", () => {
  let net: PodNetwork;
  const pods: Record<string, Pod> = {};
  let api: FakeKubeApi;
  let dir: string;
  let nats: NatsServer;
  let collector: CollectorProcess;
  const agents: AgentProcess[] = [];
  const servers: ServerHandle[] = [];
  const truth = { a1: 0, a2: 0 };

  beforeAll(async () => {
    net = await createPodNetwork({ prefix: "tx" });
    api = await startFakeKubeApi();
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-e2e-"));
    const kubeconfig = await api.writeKubeconfig(dir);
    let host = 20;
    for (const [name, node] of [
      ["a1", "node-1"],
      ["b1", "node-1"],
      ["a2", "node-2"],
      ["b2", "node-2"],
    ] as const) {
      host++;
      const pod = await net.addPod(name, { ipv4: `10.244.6.${host}`, ipv6: `fd00:244:6::${host}` });
      pods[name] = pod;
      api.addPod(makePod({ namespace: "shop", name, node, ips: [pod.ipv4, pod.ipv6] }));
    }
    servers.push(await startServer(pods.b1 as Pod, (pods.b1 as Pod).ipv4, 8080));
    servers.push(await startServer(pods.b2 as Pod, (pods.b2 as Pod).ipv4, 8080));
    nats = await startNatsServer();
    collector = await startCollector(nats.url);
    await collector.waitReady();
    for (const node of ["node-1", "node-2"]) {
      const agent = await startAgent([...kubeAgentArgs(node, kubeconfig), "--nats-url", nats.url]);
      agents.push(agent);
      await waitReady(agent);
    }
  });

  afterAll(async () => {
    for (const a of agents) expect(await a.stop()).toBe(0);
    expect(await collector?.stop()).toBe(0);
    for (const s of servers) await s.stop().catch(() => undefined);
    await nats?.destroy();
    await api?.stop();
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function traffic(client: "a1" | "a2", count: number): Promise<void> {
    const server = client === "a1" ? "b1" : "b2";
    const r = await runClient(pods[client] as Pod, {
      host: (pods[server] as Pod).ipv4,
      port: 8080,
      count,
      mode: "close-first",
    });
    expect(r.ok).toBe(count);
    truth[client] += count;
  }

  const expected = () => ({
    "node-1/a1": { active_opens: truth.a1, passive_opens: 0, closes: truth.a1 },
    "node-1/b1": { active_opens: 0, passive_opens: truth.a1, closes: truth.a1 },
    "node-2/a2": { active_opens: truth.a2, passive_opens: 0, closes: truth.a2 },
    "node-2/b2": { active_opens: 0, passive_opens: truth.a2, closes: truth.a2 },
  });

  it("the collector's per-pod totals equal the traffic, each pod under its own node", async () => {
    await traffic("a1", 40);
    await traffic("a2", 30);
    await expect
      .poll(async () => totalsByPod(collector), { timeout: 30_000, interval: 500 })
      .toMatchObject(expected());
  });

  it("stays exact across a 30 s NATS outage with traffic during it: the agents deliver their backlog", async () => {
    await nats.stop();
    await traffic("a1", 25);
    await traffic("a2", 15);
    await new Promise((r) => setTimeout(r, 30_000));
    for (const a of agents)
      expect((await a.get("/metrics")).text).toMatch(/^tcpstate_agent_publish_buffered_windows [1-9]/m);
    await nats.start();
    await expect
      .poll(async () => totalsByPod(collector).catch(() => ({})), { timeout: 60_000, interval: 1000 })
      .toMatchObject(expected());
    for (const a of agents)
      expect((await a.get("/metrics")).text).toMatch(/^tcpstate_agent_publish_dropped_windows_total 0$/m);
  }, 120_000);
});
