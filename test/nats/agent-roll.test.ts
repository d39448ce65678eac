/**
 * An agent roll for real (a helm upgrade, a crash): the node's agent stops and a new one starts for the same
 * node. The counts in between are lost — said, not hidden: the new agent's first window is incomplete with
 * the reason, the collector reports the gap per node (/api/v1/nodes, /readyz, /metrics), and no window of
 * either agent is counted twice.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_START_REASON } from "../../agent/window/window-cycle.js";
import { SUMMARY_STREAM } from "../../agent/wire/subjects.js";
import { type NodeSummary, NodeSummarySchema } from "../../agent/wire/summary.js";
import { type AgentProcess, kubeAgentArgs, startAgent, waitReady } from "../support/agent-process.js";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "../support/fake-kube-api.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { createPodNetwork, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { runClient, type ServerHandle, startServer } from "../support/traffic.js";

const NODE = "roll-node";

interface NodeRow {
  node: string;
  bootId: string;
  agentRestarts: number;
  gapSeconds: number;
  lastGap: { seconds: number; at: number } | null;
}

describe("agent roll: one agent stops, the next starts (real kernel, real nats-server)", () => {
  let net: PodNetwork;
  let client: Pod;
  let server: Pod;
  let api: FakeKubeApi;
  let dir: string;
  let kubeconfig: string;
  let nats: NatsServer;
  let nc: NatsConnection;
  let collector: CollectorProcess;
  let serverHandle: ServerHandle;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    net = await createPodNetwork({ prefix: "tr" });
    client = await net.addPod("client", { ipv4: "10.244.7.21", ipv6: "fd00:244:7::21" });
    server = await net.addPod("server", { ipv4: "10.244.7.22", ipv6: "fd00:244:7::22" });
    api = await startFakeKubeApi();
    for (const pod of [client, server])
      api.addPod(makePod({ namespace: "shop", name: pod.name, node: NODE, ips: [pod.ipv4, pod.ipv6] }));
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-roll-"));
    kubeconfig = await api.writeKubeconfig(dir);
    serverHandle = await startServer(server, server.ipv4, 8080);
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    collector = await startCollector(nats.url);
    await collector.waitReady();
  });

  afterAll(async () => {
    for (const a of agents) if (a.child.exitCode === null) await a.stop();
    await collector?.stop();
    await serverHandle?.stop().catch(() => undefined);
    await nc?.close();
    await nats?.destroy();
    await api?.stop();
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const opens = async () => {
    const body = (await collector.get(`/api/v1/pods?node=${NODE}&idle=show`)).json() as {
      pods: { name: string; total: { active_opens: number } }[];
    };
    return body.pods.find((p) => p.name === client.name)?.total.active_opens ?? 0;
  };
  const nodeRow = async () => {
    const body = (await collector.get("/api/v1/nodes")).json() as { nodes: NodeRow[] };
    return body.nodes.find((n) => n.node === NODE);
  };
  const connects = async (count: number) => {
    const r = await runClient(client, { host: server.ipv4, port: 8080, count, mode: "close-first" });
    expect(r.ok).toBe(count);
  };
  const startNodeAgent = async () => {
    const agent = await startAgent([...kubeAgentArgs(NODE, kubeconfig), "--nats-url", nats.url]);
    agents.push(agent);
    await waitReady(agent, 30_000);
    return agent;
  };

  it("reports the gap between the agents and counts every window once", async () => {
    const first = await startNodeAgent();
    await connects(30);
    await expect.poll(opens, { timeout: 30_000, interval: 500 }).toBe(30);
    expect((await nodeRow())?.agentRestarts).toBe(0);

    const stopAt = Date.now();
    expect(await first.stop()).toBe(0);
    const stoppedAt = Date.now();
    const second = await startNodeAgent();
    const readyAt = Date.now();
    console.log(`agent stop ${stoppedAt - stopAt} ms; next agent ready ${readyAt - stoppedAt} ms later`);
    await connects(20);
    await expect.poll(opens, { timeout: 30_000, interval: 500 }).toBe(50);

    // The gap: from the first agent's last window to the second's first, within the stop-to-ready time.
    const row = await nodeRow();
    console.log(`gap reported: ${row?.gapSeconds} s`);
    expect(row).toMatchObject({ agentRestarts: 1 });
    expect(row?.gapSeconds).toBeGreaterThan(0);
    expect((row?.gapSeconds ?? 0) * 1000).toBeLessThanOrEqual(readyAt - stopAt);
    expect(row?.lastGap?.seconds).toBe(row?.gapSeconds);
    const ready = JSON.parse((await collector.get("/readyz")).text) as {
      details: { agentGaps: { nodes: number; newest: { node: string; gapSeconds: number }[] } };
    };
    expect(ready.details.agentGaps.newest).toContainEqual(
      expect.objectContaining({ node: NODE, gapSeconds: row?.gapSeconds }),
    );
    expect((await collector.get("/metrics")).text).toMatch(
      new RegExp(`^tcpstate_collector_node_gap_seconds_total\\{node="${NODE}"\\} ${row?.gapSeconds}$`, "m"),
    );

    // Each agent's first window says what it missed; windows after the probes attached are complete.
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info(SUMMARY_STREAM);
    const windows: NodeSummary[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq; seq++)
      windows.push(NodeSummarySchema.parse((await jsm.streams.getMessage(SUMMARY_STREAM, { seq }))?.json()));
    const boots = [...new Set(windows.map((w) => w.bootId))];
    expect(boots).toHaveLength(2);
    for (const boot of boots) {
      const [firstWindow] = windows.filter((w) => w.bootId === boot);
      expect(firstWindow).toMatchObject({ seq: 0, complete: false });
      expect(firstWindow?.incompleteReasons).toContain(AGENT_START_REASON);
      expect(windows.filter((w) => w.bootId === boot).at(-1)?.complete).toBe(true);
    }
    expect(row?.bootId).toBe(boots[1]);
    // The gap is exact: from the first agent's last window to when the second one's probes attached (its
    // first window starts there).
    const [oldBoot, newBoot] = boots;
    const lastOld = windows.filter((w) => w.bootId === oldBoot).at(-1) as NodeSummary;
    const firstNew = windows.find((w) => w.bootId === newBoot) as NodeSummary;
    expect(row?.gapSeconds).toBe((firstNew.windowStart - lastOld.windowEnd) / 1000);
    const attached = second.logs.find(
      (l) => l.msg === "bpftrace probes attached" && l.probe === "transitions",
    );
    expect(Math.abs(firstNew.windowStart - Number(attached?.time))).toBeLessThan(1000);

    // Never counted twice: windows keep coming, and the totals stay at what happened.
    const seen = windows.length;
    await expect
      .poll(async () => (await jsm.streams.info(SUMMARY_STREAM)).state.messages, { timeout: 15_000 })
      .toBeGreaterThan(seen + 2);
    expect(await opens()).toBe(50);
    expect(await second.stop()).toBe(0);
  }, 120_000);
});
