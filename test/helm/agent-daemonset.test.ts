/**
 * The agent started exactly the way the chart's DaemonSet starts it — its args and env, each container path
 * mapped through the DaemonSet's own hostPath mounts to this machine's path — traces the host: connections
 * between two pods (network namespaces listed in a fake kube API) are counted exactly in /metrics.
 *
 * Mapped because there is no cluster here: NODE_NAME (downward API) → the test node; the in-cluster service
 * account → KUBECONFIG_PATH of the fake kube API; the bundled NATS Service → the chart's NATS configuration run
 * by a test nats-server, which the agent logs in to with the password file its Secret mounts; the node's port
 * 9464 → a free loopback port.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/agent-process.js";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "../support/fake-kube-api.js";
import { cgroup2Root } from "../support/host-pod.js";
import { waitHttpOk } from "../support/http-ready.js";
import type { NatsServer } from "../support/nats-server.js";
import { createPodNetwork, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { type ServiceProcess, startService } from "../support/service-process.js";
import { type ServerHandle, startServer } from "../support/traffic.js";
import { startBundledNats } from "./bundled-nats-server.js";
import { daemonSetAgent, expectExactCounts, toHost } from "./daemonset-agent.js";
import { violations } from "./nats-identity.js";
import { localEnv, writePodFiles } from "./pod-files.js";

const NODE = "test-node";
const N = 30;
const PORT = 8080;
// The agent traces the whole host and attributes network namespaces by pod IP: a subnet no other test uses,
// different on each run, so kernel tests running at the same time are never taken for these pods.
const SUBNET = 1 + Math.floor(Math.random() * 250);

describe("agent started with the DaemonSet's args, env and mounts (real kernel)", () => {
  let net: PodNetwork;
  let a: Pod;
  let b: Pod;
  let api: FakeKubeApi;
  let nats: NatsServer;
  let dir: string;
  let agent: ServiceProcess;
  let server: ServerHandle;
  let env: Record<string, string>;
  let argv: string[];

  beforeAll(async () => {
    // This machine's cgroup v2 mount is the value a user sets where it is not /sys/fs/cgroup.
    const ds = daemonSetAgent(NODE, { "agent.hostPaths.cgroup": await cgroup2Root() });
    nats = (await startBundledNats(ds.objects)).server;
    api = await startFakeKubeApi();
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-daemonset-"));
    net = await createPodNetwork({ prefix: "hd" });
    a = await net.addPod("a", { ipv4: `10.251.${SUBNET}.11`, ipv6: `fd00:251:${SUBNET}::11` });
    b = await net.addPod("b", { ipv4: `10.251.${SUBNET}.12`, ipv6: `fd00:251:${SUBNET}::12` });
    api.addPod(makePod({ namespace: "shop", name: "a", node: NODE, ips: [a.ipv4, a.ipv6] }));
    api.addPod(makePod({ namespace: "shop", name: "b", node: NODE, ips: [b.ipv4, b.ipv6] }));
    server = await startServer(b, "::", PORT);

    const secrets = await writePodFiles(path.join(dir, "secrets"), ds.files);
    env = localEnv(
      Object.fromEntries(Object.entries(ds.env).map(([k, v]) => [k, toHost(v, ds.mounts)])),
      secrets,
    );
    expect(env.NATS_URL).toBe(ds.bundledNatsUrl);
    env.NATS_URL = nats.url;
    env.KUBECONFIG_PATH = await api.writeKubeconfig(dir);
    argv = [...ds.args, "--metrics-addr", "127.0.0.1:0"];
    agent = await startService([CLI, ...argv], { env });
  }, 90_000);

  afterAll(async () => {
    const code = await agent?.stop();
    await server?.stop().catch(() => undefined);
    await api?.stop();
    await nats?.destroy();
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  it("reads the host through the mapped mounts and becomes ready (probes attached, pods synced, NATS up)", async () => {
    expect(argv[0]).toBe("agent");
    expect(env).toMatchObject({ PROC_ROOT: "/proc", TRACEFS: "/sys/kernel/tracing", NODE_NAME: NODE });
    await waitHttpOk(`http://127.0.0.1:${agent.port}/readyz`, 30_000);
    expect((await fetch(`http://127.0.0.1:${agent.port}/healthz`)).status).toBe(200);
    // Logged in as the chart's agent user, with the password file from its Secret; refused nothing.
    expect(env.NATS_PASSWORD_FILE).toBe(path.join(dir, "secrets/etc/tcpstate/nats/password"));
    expect(agent.logs).toContainEqual(expect.objectContaining({ msg: "connected to NATS" }));
    expect(violations(nats)).toEqual([]);
  });

  it("counts N connections between two pods exactly, on both ends", async () => {
    await expectExactCounts(`http://127.0.0.1:${agent.port}/metrics`, a, b, PORT, N);
  }, 60_000);
});
