/**
 * tcpstate on a real node, as its operator changes it: a `helm upgrade` that changes the agent's pod template
 * rolls the agent while a client churns at a fixed rate (the collector shows the restart and the gap, and never
 * counts a connection twice); a hostNetwork pod's sockets, told apart from the node's by its cgroup, equal `ss`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_UP_TIMEOUT_MS, type Cluster, startCluster } from "../support/cluster.js";
import { withReport } from "../support/cluster-diagnostics.js";
import { CHART, INSTALL_READY_TIMEOUT_S, installTcpstate, type Release } from "../support/cluster-release.js";
import { clientResult, serverAccepted, startShop } from "../support/cluster-shop.js";

const SHOP = "shop";
const HOST = "host";
const PORT = 8080;
/** Long enough for the roll (helm upgrade, old agent out, new one counting) to fall well inside the churn. */
const PER_SECOND = 20;
const CONNECTIONS = PER_SECOND * 150;
/** Connections the hostNetwork pod holds open to its own listener. */
const HELD = 25;
const INTERVAL_MS = 5_000; // the chart's default agent.interval

type Gauges = Record<string, number>;
interface PodView {
  name: string;
  hostNetwork: boolean;
  total: { active_opens: number; passive_opens: number };
  sockets: Gauges | null;
  series: { windowStart: number; windowEnd: number; complete: boolean }[];
}
interface NodeView {
  node: string;
  agentRestarts: number;
  gapSeconds: number;
  windows: number;
  incompleteWindows: number;
  lastGap: { seconds: number; at: number } | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until `done` holds or the deadline passes; returns the last value either way. */
async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > deadline) return v;
    await sleep(2_000);
  }
}

// Listens on a free port of the node's netns and holds HELD connections to itself: HELD×2 ESTABLISHED, 1 LISTEN.
const HOLDER = `
const net = require("node:net");
const held = [], n = Number(process.env.HELD);
const srv = net.createServer((s) => { held.push(s); s.on("error", () => {}); });
srv.listen(0, "127.0.0.1", () => {
  let up = 0;
  for (let i = 0; i < n; i++) {
    const c = net.connect(srv.address().port, "127.0.0.1");
    held.push(c);
    c.on("error", (e) => console.log("ERROR " + e.code));
    c.on("connect", () => { if (++up === n) console.log("HOLDING " + n + " port=" + srv.address().port); });
  }
});
setInterval(() => {}, 1 << 30);
`;

describe("cluster: the agent rolled by helm upgrade, and a hostNetwork pod", () => {
  let cluster: Cluster;
  let release: Release;
  let image: { repository: string; tag: string };

  /** GET on the collector's API from inside its pod (the Service is the cluster's only). */
  async function api<T>(path: string): Promise<T> {
    const script = `fetch("http://127.0.0.1:8080${path}").then(async (r) => { if (!r.ok) process.exit(1); process.stdout.write(await r.text()); })`;
    const out = await cluster.kubectl([
      "-n",
      release.namespace,
      "exec",
      `deploy/${release.collectorName}`,
      "--",
      "node",
      "-e",
      script,
    ]);
    return JSON.parse(out) as T;
  }
  const pod = (ns: string, name: string) =>
    api<PodView>(`/api/v1/pods/${ns}/${name}?window=15m`).catch(() => null);
  const podNames = async (component: string) =>
    (
      await cluster.kubectl([
        "-n",
        release.namespace,
        "get",
        "pods",
        "-l",
        `app.kubernetes.io/component=${component}`,
        "-o",
        "jsonpath={.items[*].metadata.name}",
      ])
    ).trim();
  const node = async () => (await api<{ nodes: NodeView[] }>("/api/v1/nodes").catch(() => null))?.nodes[0];

  beforeAll(
    async () => {
      cluster = await startCluster();
      // Generated NATS passwords (the default): the upgrade below must roll the agents only, not NATS or the
      // collector (whose checksums are of the stored passwords).
      release = await installTcpstate(cluster, "tcpstate", "tcpstate");
      image = {
        repository: release.values["image.repository"] ?? "",
        tag: release.values["image.tag"] ?? "",
      };
    },
    CLUSTER_UP_TIMEOUT_MS + 10 * 60_000,
  );

  afterAll(async () => {
    for (const ns of [SHOP, HOST])
      await cluster?.kubectl(["delete", "namespace", ns, "--wait=false"]).catch(() => undefined);
    await cluster?.helm(["uninstall", "tcpstate", "-n", "tcpstate", "--wait"]).catch(() => undefined);
    await cluster?.release();
  }, 5 * 60_000);

  it("rolls the agent on a helm upgrade of its pod template: restart and gap shown, nothing counted twice", async () => {
    // The agent counts before the client's first connect: a complete window (its first is incomplete: start-up).
    const counting = await until(node, (n) => n !== undefined && n.windows > n.incompleteWindows, 90_000);
    expect(counting?.windows, JSON.stringify(counting)).toBeGreaterThan(counting?.incompleteWindows ?? 0);
    const pods = await withReport(cluster, SHOP, () =>
      startShop(cluster, {
        namespace: SHOP,
        image,
        port: PORT,
        connections: CONNECTIONS,
        perSecond: PER_SECOND,
      }),
    );
    // The first agent counts the client before the roll.
    const counted = await until(
      () => pod(SHOP, pods.client),
      (p) => (p?.total.active_opens ?? 0) > 0,
      60_000,
    );
    expect(counted?.total.active_opens, "the first agent counted the client").toBeGreaterThan(0);
    const before = await node();
    expect(before?.agentRestarts).toBe(0);

    const collectorBefore = await podNames("collector");
    await withReport(cluster, release.namespace, async () => {
      await cluster.helm(
        [
          "upgrade",
          "tcpstate",
          CHART,
          "-n",
          release.namespace,
          "--reuse-values",
          "--set",
          "agent.podAnnotations.rolled=yes",
          "--wait",
          "--timeout",
          `${INSTALL_READY_TIMEOUT_S}s`,
        ],
        { timeoutMs: (INSTALL_READY_TIMEOUT_S + 30) * 1000 },
      );
      await cluster.kubectl(
        ["-n", release.namespace, "rollout", "status", `daemonset/${release.agentName}`, "--timeout=180s"],
        { timeoutMs: 190_000 },
      );
    });
    // Only the agent rolled: the collector kept its model (its pod is the one from before the upgrade).
    const collectorAfter = await podNames("collector");
    expect(collectorAfter).toEqual(collectorBefore);
    const rolled = await until(node, (n) => (n?.agentRestarts ?? 0) >= 1, 90_000);
    expect(rolled?.agentRestarts, JSON.stringify(rolled)).toBe(1);
    expect(rolled?.gapSeconds).toBeGreaterThan(0);
    expect(rolled?.lastGap?.seconds).toBe(rolled?.gapSeconds);
    const gapAt = rolled?.lastGap?.at ?? 0;

    // The roll fell inside the churn: the client was still connecting when the new agent started counting.
    const result = await clientResult(
      cluster,
      SHOP,
      pods.client,
      (CONNECTIONS / PER_SECOND) * 1000 + 120_000,
    );
    expect(result.failed, result.errors).toBeLessThanOrEqual(CONNECTIONS / 100);
    await sleep(1_000); // the server prints its count every 500 ms
    const established = await serverAccepted(cluster, SHOP, pods.server);
    // Settled: every window of the churn in (two intervals with the same total).
    let last = -1;
    const settled = await until(
      async () => {
        const p = await pod(SHOP, pods.client);
        const stable = p !== null && p.total.active_opens === last;
        last = p?.total.active_opens ?? -1;
        return { p, stable };
      },
      (v) => v.stable,
      90_000,
    );
    const client = settled.p;
    const gap = rolled?.gapSeconds ?? 0;
    console.log(
      `roll: gap ${gap} s; client: ${established} established, ${client?.total.active_opens} counted; node ${JSON.stringify(rolled)}`,
    );
    expect(client?.series.at(-1)?.windowEnd ?? 0, "the churn went on after the roll").toBeGreaterThan(gapAt);
    // Never double counted; short by no more than what the gap can hold at the client's rate (or less).
    expect(client?.total.active_opens).toBeLessThanOrEqual(established);
    // Known shortfall (issue 13, open): the reported gap can be short of the uncounted time by up to ~2 s (the
    // old agent's last window claims time its kernel maps were not yet read for). Measured here: gap + 1.0–1.4 s
    // in 3 of 5 runs (84, 96, 103 connections missed at 20/s for gaps of 3.22, 3.37, 3.77 s). The bound leaves room
    // for that shortfall, not for counts lost anywhere else.
    expect(client?.total.active_opens).toBeGreaterThanOrEqual(established - PER_SECOND * (gap + 3));
    // The new agent's first window, where the gap ends, is marked incomplete.
    const first = client?.series.find((w) => w.windowStart === gapAt);
    expect(first, `a window of the client starting at the new agent's start ${gapAt}`).toBeDefined();
    expect(first?.complete).toBe(false);
    expect(rolled?.incompleteWindows ?? 0).toBeGreaterThan(before?.incompleteWindows ?? 0);
  }, 600_000);

  it("counts a hostNetwork pod's ESTABLISHED and LISTEN sockets as `ss` sees them under its cgroup", async () => {
    const agentLogs = await cluster.kubectl([
      "-n",
      release.namespace,
      "logs",
      `daemonset/${release.agentName}`,
    ]);
    expect(agentLogs).toContain("cgroup v2 root: hostNetwork pods' sockets are told apart by their cgroups");
    const objects = [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: HOST } },
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "holder", namespace: HOST },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "holder" } },
          template: {
            metadata: { labels: { app: "holder" } },
            spec: {
              hostNetwork: true,
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: "holder",
                  image: `${image.repository}:${image.tag}`,
                  imagePullPolicy: "Never",
                  command: ["node", "-e", HOLDER],
                  env: [{ name: "HELD", value: String(HELD) }],
                },
              ],
            },
          },
        },
      },
    ];
    await withReport(cluster, HOST, async () => {
      await cluster.kubectl(["apply", "-f", "-"], {
        input: JSON.stringify({ kind: "List", apiVersion: "v1", items: objects }),
      });
      await cluster.kubectl(["-n", HOST, "rollout", "status", "deployment/holder", "--timeout=90s"], {
        timeoutMs: 100_000,
      });
    });
    const p = await cluster.kubectlJson<{ items: { metadata: { name: string; uid: string } }[] }>([
      "-n",
      HOST,
      "get",
      "pods",
      "-l",
      "app=holder",
    ]);
    const { name, uid } = p.items[0]?.metadata ?? { name: "", uid: "" };
    const logs = await until(
      () => cluster.kubectl(["-n", HOST, "logs", name]),
      (l) => l.includes("HOLDING"),
      60_000,
    );
    expect(logs).toContain(`HOLDING ${HELD}`);

    // ss in the node's netns, the sockets whose cgroup is the pod's (the node's own and other pods' left out).
    const ss = (await cluster.inNodeNet(["ss", "-Htane"]))
      .split("\n")
      .filter((l) => l.includes(`/pod${uid}/`));
    const count = (state: string) => ss.filter((l) => l.startsWith(state)).length;
    const want = { ESTABLISHED: count("ESTAB"), LISTEN: count("LISTEN") };
    expect(want, ss.join("\n")).toEqual({ ESTABLISHED: 2 * HELD, LISTEN: 1 });

    // The sockets are held: the gauges reach them within a few windows and must equal them.
    const view = await until(
      () => pod(HOST, name),
      (v) => v?.sockets?.ESTABLISHED === want.ESTABLISHED && v?.sockets?.LISTEN === want.LISTEN,
      6 * INTERVAL_MS + 30_000,
    );
    expect(view?.hostNetwork).toBe(true);
    expect({ ESTABLISHED: view?.sockets?.ESTABLISHED, LISTEN: view?.sockets?.LISTEN }).toEqual(want);
  }, 300_000);
});
