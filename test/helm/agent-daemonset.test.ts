/**
 * The agent started exactly the way the chart's DaemonSet starts it — its args and env, each container path
 * mapped through the DaemonSet's own hostPath mounts to this machine's path — traces the host: connections
 * between two pods (network namespaces listed in a fake kube API) are counted exactly in /metrics.
 *
 * Mapped because there is no cluster here: NODE_NAME (downward API) → the test node; the in-cluster service
 * account → KUBECONFIG_PATH of the fake kube API; the bundled NATS Service → a test nats-server; the node's
 * port 9464 → a free loopback port.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/agent-process.js";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "../support/fake-kube-api.js";
import { cgroup2Root } from "../support/host-pod.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { createPodNetwork, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { type ServiceProcess, startService } from "../support/service-process.js";
import { runClient, type ServerHandle, startServer } from "../support/traffic.js";
import { container, envOf, type K8sObject, NAMESPACE, one, render } from "./chart.js";
import { sampleValue } from "./prometheus-text.js";

const NODE = "test-node";
const N = 30;
const PORT = 8080;

interface HostMount {
  mountPath: string;
  hostPath: string;
}

/** The DaemonSet's hostPath mounts, longest container path first. */
function hostMounts(ds: K8sObject): HostMount[] {
  const pod = ds.spec.template.spec;
  const out: HostMount[] = [];
  for (const m of container(ds, "agent").volumeMounts as { name: string; mountPath: string }[]) {
    const v = (pod.volumes as { name: string; hostPath?: { path: string } }[]).find((x) => x.name === m.name);
    if (v?.hostPath) out.push({ mountPath: m.mountPath, hostPath: v.hostPath.path });
  }
  return out.sort((a, b) => b.mountPath.length - a.mountPath.length);
}

/** A path inside the container → the host path it shows (unchanged when no hostPath mount holds it). */
function toHost(value: string, mounts: HostMount[]): string {
  for (const m of mounts)
    if (value === m.mountPath || value.startsWith(`${m.mountPath}/`))
      return m.hostPath + value.slice(m.mountPath.length);
  return value;
}

async function metricsOf(agent: ServiceProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
}

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
    const objects = render({ set: { "agent.hostPaths.cgroup": await cgroup2Root() } });
    const ds = one(objects, "DaemonSet", "-agent");
    const c = container(ds, "agent");
    const mounts = hostMounts(ds);

    nats = await startNatsServer();
    api = await startFakeKubeApi();
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-daemonset-"));
    net = await createPodNetwork({ prefix: "hd" });
    a = await net.addPod("a", { ipv4: "10.244.7.11", ipv6: "fd00:244:7::11" });
    b = await net.addPod("b", { ipv4: "10.244.7.12", ipv6: "fd00:244:7::12" });
    api.addPod(makePod({ namespace: "shop", name: "a", node: NODE, ips: [a.ipv4, a.ipv6] }));
    api.addPod(makePod({ namespace: "shop", name: "b", node: NODE, ips: [b.ipv4, b.ipv6] }));
    server = await startServer(b, "::", PORT);

    env = {};
    for (const [name, value] of Object.entries(envOf(c))) {
      if (typeof value === "string") env[name] = toHost(value, mounts);
      else if ((value as { fieldRef?: { fieldPath: string } }).fieldRef?.fieldPath === "spec.nodeName")
        env[name] = NODE;
      else throw new Error(`the DaemonSet sets ${name} from ${JSON.stringify(value)}: map it in this test`);
    }
    const bundledNats = `nats://${one(objects, "Service", "-nats").metadata.name}.${NAMESPACE}.svc:4222`;
    expect(env.NATS_URL).toBe(bundledNats);
    env.NATS_URL = nats.url;
    env.KUBECONFIG_PATH = await api.writeKubeconfig(dir);
    argv = [...(c.args as string[]), "--metrics-addr", "127.0.0.1:0"];
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
    const deadline = Date.now() + 30_000;
    let last = { status: 0, text: "" };
    while (Date.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${agent.port}/readyz`).catch(() => undefined);
      last = res ? { status: res.status, text: await res.text() } : last;
      if (last.status === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(last.status, `/readyz: ${last.text}`).toBe(200);
    expect((await fetch(`http://127.0.0.1:${agent.port}/healthz`)).status).toBe(200);
  });

  it("counts N connections between two pods exactly, on both ends", async () => {
    const labelsOf = (pod: string, transition: string) => ({ namespace: "shop", pod, transition });
    const count = (text: string, pod: string, transition: string) =>
      sampleValue(text, "tcpstate_pod_transitions_total", labelsOf(pod, transition)) ?? 0;
    const before = await metricsOf(agent);
    const result = await runClient(a, { host: b.ipv4, port: PORT, count: N, mode: "close-first" });
    expect(result).toMatchObject({ ok: N, failed: 0 });
    // Windows are 5 s (the DaemonSet's INTERVAL); kernel maps reach a window at most 2 s late.
    const deadline = Date.now() + 30_000;
    let after = before;
    while (Date.now() < deadline) {
      after = await metricsOf(agent);
      if (count(after, "a", "active_opens") - count(before, "a", "active_opens") >= N) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // One more window: nothing more arrives (exact, not at least).
    await new Promise((r) => setTimeout(r, 7000));
    after = await metricsOf(agent);
    const delta = (pod: string, transition: string) =>
      count(after, pod, transition) - count(before, pod, transition);
    expect({
      active_opens: delta("a", "active_opens"),
      established: delta("a", "established"),
      time_wait_entries: delta("a", "time_wait_entries"),
      passive_opens: delta("b", "passive_opens"),
      established_b: delta("b", "established"),
    }).toEqual({ active_opens: N, established: N, time_wait_entries: N, passive_opens: N, established_b: N });
  }, 60_000);
});
