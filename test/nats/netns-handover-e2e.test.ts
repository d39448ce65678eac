/**
 * A pod that counts before its agent knows it (created after the pod list synced, or before the kube API
 * answered): its first windows come under its netns's name, then under the pod. Through NATS to the
 * collector, the pod is one row holding every count.
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

const NODE = "handover-node";

describe("netns row → pod row in the collector (real kernel, real nats-server)", () => {
  let net: PodNetwork;
  let client: Pod;
  let server: Pod;
  let api: FakeKubeApi;
  let dir: string;
  let nats: NatsServer;
  let collector: CollectorProcess;
  let agent: AgentProcess;
  let serverHandle: ServerHandle;

  beforeAll(async () => {
    net = await createPodNetwork({ prefix: "th" });
    client = await net.addPod("client", { ipv4: "10.244.8.21", ipv6: "fd00:244:8::21" });
    server = await net.addPod("server", { ipv4: "10.244.8.22", ipv6: "fd00:244:8::22" });
    api = await startFakeKubeApi();
    api.addPod(makePod({ namespace: "shop", name: "server", node: NODE, ips: [server.ipv4, server.ipv6] }));
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-handover-"));
    serverHandle = await startServer(server, server.ipv4, 8080);
    nats = await startNatsServer();
    collector = await startCollector(nats.url);
    await collector.waitReady();
    agent = await startAgent([
      ...kubeAgentArgs(NODE, await api.writeKubeconfig(dir)),
      "--nats-url",
      nats.url,
    ]);
    await waitReady(agent, 30_000);
  });

  afterAll(async () => {
    await agent?.stop();
    await collector?.stop();
    await serverHandle?.stop().catch(() => undefined);
    await nats?.destroy();
    await api?.stop();
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const rows = async () => {
    const body = (await collector.get(`/api/v1/pods?node=${NODE}&idle=show`)).json() as {
      pods: { kind: string; name: string; total: { active_opens: number } }[];
    };
    return Object.fromEntries(
      // Other netns of this machine are reported too: only the client's rows matter here.
      body.pods
        .filter((p) => p.name === client.netns || p.name === "client")
        .map((p) => [`${p.kind}/${p.name}`, p.total.active_opens]),
    );
  };
  const connects = async (count: number) => {
    const r = await runClient(client, { host: server.ipv4, port: 8080, count, mode: "close-first" });
    expect(r.ok).toBe(count);
  };

  it("shows the windows counted under the netns name under the pod once it is known, one row", async () => {
    await connects(25);
    await expect.poll(rows, { timeout: 30_000, interval: 500 }).toEqual({ [`netns/${client.netns}`]: 25 });
    api.addPod(makePod({ namespace: "shop", name: "client", node: NODE, ips: [client.ipv4, client.ipv6] }));
    await connects(15);
    await expect.poll(rows, { timeout: 30_000, interval: 500 }).toEqual({ "pod/client": 40 });
  }, 90_000);
});
