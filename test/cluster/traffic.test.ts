/**
 * tcpstate on a real cluster counting real pod traffic: a client Deployment opens short connections to a server
 * Deployment's Service by its DNS name (CoreDNS, kube-proxy DNAT); the agent, installed by the chart, attributes
 * them to the pods by name and workload, exactly; the CLI's views agree; the peer is named as the Service.
 * At the end, the agent's and collector's CPU and memory as their cgroups count them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_UP_TIMEOUT_MS, type Cluster, startCluster } from "../support/cluster.js";
import { formatUsage, podUsage } from "../support/cluster-cgroups.js";
import { withReport } from "../support/cluster-diagnostics.js";
import { installTcpstate, type Release } from "../support/cluster-release.js";
import { clientResult, serverAccepted, startShop } from "../support/cluster-shop.js";

const SHOP = "shop";
const PORT = 8080;
const CONNECTIONS = 600;
const PER_SECOND = 20;
const INTERVAL_MS = 5_000; // the chart's default agent.interval

interface Counters {
  active_opens: number;
  passive_opens: number;
}
interface PodView {
  namespace: string;
  name: string;
  workload: string;
  counters: Counters;
  total: Counters;
  topDestinations: { connects: { endpoint: string; count: number; peer: string | null }[] };
}

describe("cluster: a client and a server Deployment, counted by the agent", () => {
  let cluster: Cluster;
  let release: Release;
  let pods: { server: string; client: string };
  /** Connections the kernel established (the server's accept count); the client's count, and its failures. */
  let established = 0;
  let clientEstablished = 0;
  let failed = 0;

  /** The tcpstate CLI inside the collector's pod, as NOTES.txt tells users to run it; JSON output parsed. */
  async function cli<T>(args: string[]): Promise<T> {
    const out = await cluster.kubectl([
      "-n",
      release.namespace,
      "exec",
      `deploy/${release.collectorName}`,
      "--",
      "tcpstate",
      ...args,
      "-o",
      "json",
      "--server",
      "http://127.0.0.1:8080",
    ]);
    return JSON.parse(out) as T;
  }
  const pod = (name: string) => cli<PodView>(["pod", `${SHOP}/${name}`, "--window", "15m"]);

  beforeAll(
    async () => {
      cluster = await startCluster();
      release = await installTcpstate(cluster, "tcpstate", "tcpstate");
      const image = {
        repository: release.values["image.repository"] ?? "",
        tag: release.values["image.tag"] ?? "",
      };
      pods = await withReport(cluster, SHOP, () =>
        startShop(cluster, {
          namespace: SHOP,
          image,
          port: PORT,
          connections: CONNECTIONS,
          perSecond: PER_SECOND,
        }),
      );
    },
    CLUSTER_UP_TIMEOUT_MS + 10 * 60_000,
  );

  /**
   * Once: the connections the kernel established, as the server accepted them, after every window holding the
   * traffic reached the collector; and the client's own count.
   */
  let settled: Promise<void> | undefined;
  function clientDone(): Promise<void> {
    settled ??= (async () => {
      const timeout = (CONNECTIONS / PER_SECOND) * 1000 + 60_000;
      const result = await clientResult(cluster, SHOP, pods.client, timeout);
      // Seen here in 3 of ~10 runs: one early connect reported EHOSTUNREACH after ≈ 3 s while the agent counted
      // all 600 as active opens: an ICMP for a first SYN lost in the cluster's network, a retransmitted SYN that
      // got through, and Node reading the ICMP's soft error through SO_ERROR. So the kernel's count is the
      // server's accept count (accept() returns only established connections); the client's own may be short
      // by its failures, and more than a few would be a broken cluster network.
      if (result.failed > 0) console.log(`client: ${result.failed} connects failed: ${result.errors}`);
      expect(result.failed, `the client's failed connections: ${result.errors}`).toBeLessThanOrEqual(
        CONNECTIONS / 100,
      );
      clientEstablished = result.established;
      failed = result.failed;
      await new Promise((r) => setTimeout(r, 1_000)); // the server prints its count every 500 ms
      established = await serverAccepted(cluster, SHOP, pods.server);
      // The totals settle and stay.
      const deadline = Date.now() + 60_000;
      let last = "";
      for (;;) {
        await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS));
        const [c, s] = await Promise.all([pod(pods.client), pod(pods.server)]).catch(() => [null, null]);
        const now = JSON.stringify([c?.total.active_opens, s?.total.passive_opens]);
        if ((now === last && (c?.total.active_opens ?? 0) >= established) || Date.now() > deadline) break;
        last = now;
      }
    })();
    return settled;
  }

  afterAll(async () => {
    await cluster?.kubectl(["delete", "namespace", SHOP, "--wait=false"]).catch(() => undefined);
    await cluster?.helm(["uninstall", "tcpstate", "-n", "tcpstate", "--wait"]).catch(() => undefined);
    await cluster?.release();
  }, 5 * 60_000);

  it("names the client's top destination, while it connects, as the Service: shop/server:8080", async () => {
    // Top destinations are the newest window's: asked while the client runs.
    const deadline = Date.now() + (CONNECTIONS / PER_SECOND) * 1000;
    let connects: PodView["topDestinations"]["connects"] = [];
    while (connects.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, INTERVAL_MS));
      connects = (await pod(pods.client).catch(() => null))?.topDestinations.connects ?? [];
    }
    expect(connects[0]?.peer, JSON.stringify(connects)).toBe(`${SHOP}/server:${PORT}`);
    expect(connects[0]?.count).toBeGreaterThan(0);
  }, 60_000);

  it("counts the client's active opens and the server's passive opens exactly as the connections made", async () => {
    await clientDone();
    // Every connect the client began is either accepted by the server or counted by the client as failed.
    expect(established).toBeLessThanOrEqual(CONNECTIONS);
    expect(established).toBeGreaterThanOrEqual(CONNECTIONS - failed);
    expect(established - clientEstablished).toBeLessThanOrEqual(failed);
    const [client, server] = [await pod(pods.client), await pod(pods.server)];
    // The server's side is exact: every connection it accepted, no other. The client's kernel may have
    // established a connect the server never accepted (its handshake's last ACK lost in the cluster network's
    // rare glitch, the client told of an error): at most the failed ones more, never fewer.
    expect(server.total.passive_opens).toBe(established);
    expect(client.total.active_opens).toBeGreaterThanOrEqual(established);
    expect(client.total.active_opens).toBeLessThanOrEqual(established + failed);
    // Nothing of the other direction.
    expect(client.total.passive_opens).toBe(0);
    expect(server.total.active_opens).toBe(0);
  }, 180_000);

  it("names the pods shop/<pod> and their workloads Deployment/<name>", async () => {
    await clientDone();
    const [client, server] = [await pod(pods.client), await pod(pods.server)];
    expect(`${client.namespace}/${client.name}`).toBe(`${SHOP}/${pods.client}`);
    expect(`${server.namespace}/${server.name}`).toBe(`${SHOP}/${pods.server}`);
    expect(client.workload).toBe("Deployment/client");
    expect(server.workload).toBe("Deployment/server");
  });

  it("`tcpstate top -n shop` and `tcpstate pod shop/<pod>` agree", async () => {
    await clientDone();
    const top = await cli<{ pods: PodView[] }>(["top", "-n", SHOP, "--window", "15m", "--show-idle"]);
    const names = top.pods.map((p) => `${p.namespace}/${p.name}`).sort();
    expect(names).toEqual([`${SHOP}/${pods.client}`, `${SHOP}/${pods.server}`].sort());
    for (const name of [pods.client, pods.server]) {
      const row = top.pods.find((p) => p.name === name);
      const detail = await pod(name);
      expect(row?.counters.active_opens, name).toBe(detail.counters.active_opens);
      expect(row?.counters.passive_opens, name).toBe(detail.counters.passive_opens);
      expect(row?.workload, name).toBe(detail.workload);
    }
  });

  it("prints the agent's and the collector's CPU and memory from their cgroups", async () => {
    const podOf = async (component: string) =>
      (
        await cluster.kubectl([
          "-n",
          release.namespace,
          "get",
          "pods",
          "-l",
          `app.kubernetes.io/component=${component}`,
          "-o",
          "jsonpath={.items[0].metadata.name}",
        ])
      ).trim();
    for (const component of ["agent", "collector"]) {
      const usage = await podUsage(cluster, release.namespace, await podOf(component));
      console.log(`${component} after ${CONNECTIONS} connections: ${formatUsage(usage)}`);
      expect(usage.cpuSeconds).toBeGreaterThan(0);
      expect(usage.memoryBytes).toBeGreaterThan(0);
    }
  });
});
