/**
 * Alerts from the first minute, for real (issue 15): pods on the real kernel → agent (1 s windows, pods from a
 * fake kube API) → real nats-server → collector with the DEFAULT rules, only `for` and the baseline window
 * shortened (as `tcpstate local --demo` does; never a floor, level or factor). Every pod is already in its state
 * when tcpstate starts watching — the moment most users install it:
 * - tw holds ≥ 10,000 TIME_WAIT (200 connections/s it closes first): TimeWaitBuildup fires on the cold-start floor;
 * - syn's listener gets raw SYNs nobody answers: SynRecvBuildup fires naming its port;
 * - steady makes 20 connections/s (≈ 1,200 TIME_WAIT) from before the start, through the cold start and more than
 *   a whole baseline window once its baseline counts (with 60 s for 1 h: over 1.5 hours compressed): nothing fires;
 * - ramp makes 10/s (≈ 600 TIME_WAIT), then ramps to 10× over one baseline window, staying under the cold-start
 *   floor: only its baseline (the quiet level) can catch it, and does.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summarySubject } from "../../agent/wire/subjects.js";
import { NodeSummarySchema } from "../../agent/wire/summary.js";
import type { AlertView } from "../../collector/alerts/alert-event.js";
import { labelSetsByMetric } from "../helm/prometheus-text.js";
import { type AgentProcess, kubeAgentArgs, startAgent, waitReady } from "../support/agent-process.js";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "../support/fake-kube-api.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { createPodNetwork, exec, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { type PacedChurn, startPacedChurn } from "../support/paced-churn.js";
import { type ServerHandle, startServer, synBurst } from "../support/traffic.js";

const WINDOW_MS = 1000;
/** The agent reports a pod from its first windows once its pod list synced: a few seconds at most. */
const FIRST_WINDOW_WITHIN_MS = 5000;
const FOR_MS = 10_000;
const BASELINE_WINDOW_MS = 60_000;
/** The default rules (collector/alerts/rules-file.ts) with test-sized `for` and baseline windows only. */
const FAST_RULES = `rules:
  TimeWaitBuildup: {for: 10s, baselineWindow: 60s}
  SynRecvBuildup: {for: 10s, baselineWindow: 60s}
`;
/** Connections a second, each closed first: a pod holds about 60 s of them in TIME_WAIT. */
const RATES = { tw: 200, steady: 20, ramp: 10 } as const;
/** TIME_WAIT lasts 60 s (plus the timer's slack): by then every pod holds its steady level. */
const WARM_UP_MS = 63_000;
/** The baseline counts once half its window has history (BASELINE_MATURE_SHARE); the ramp starts after that. */
const RAMP_AFTER_MS = BASELINE_WINDOW_MS / 2 + 5000;
const PORT = { srv: 8080, syn: 9000 } as const;
const SYN_SOURCE = "10.244.15.250"; // nobody has it: SYN-ACKs go nowhere
const NODE = "node-1";

type Role = "srv" | "tw" | "syn" | "steady" | "ramp";

/** The netns's TIME_WAIT count (sockstat's tw: TIME_WAIT and FIN_WAIT2 timewait socks; none of the latter here). */
async function timeWaitIn(pod: Pod): Promise<number> {
  const text = await exec(pod, ["cat", "/proc/net/sockstat"]);
  return Number(/^TCP:.* tw (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

describe("alerts from the first minute, cluster mode, default rules (real kernel, nats-server, collector)", () => {
  let net: PodNetwork;
  const pods = {} as Record<Role, Pod>;
  let api: FakeKubeApi;
  let dir: string;
  let nats: NatsServer;
  let collector: CollectorProcess;
  let agent: AgentProcess;
  let nc: NatsConnection;
  /** The end of the first window that carried each pod's gauges (data time, the collector's clock). */
  const firstWindow = new Map<string, number>();
  /** syn's first windows (SYN_RECV, its listeners), to show what the alert saw. */
  const synWindows: unknown[] = [];
  const servers: ServerHandle[] = [];
  const churns: Partial<Record<"tw" | "steady" | "ramp", PacedChurn>> = {};
  let synFlood: NodeJS.Timeout | undefined;
  let poller: NodeJS.Timeout | undefined;
  /** When the agent was ready: its first window ends about one window later. */
  let watchedFrom = 0;
  let timeWaitAtStart = 0;
  /** Every alert the API listed while the test ran, with when (to prove what never fired). */
  const seen: { at: number; alert: AlertView }[] = [];

  async function alerts(state: "all" | "firing" = "all"): Promise<AlertView[]> {
    const list = ((await collector.get(`/api/v1/alerts?state=${state}`)).json() as { alerts: AlertView[] })
      .alerts;
    const at = Date.now();
    for (const alert of list) seen.push({ at, alert });
    return list;
  }
  const firing = async (rule: string, pod: Role) =>
    (await alerts("firing")).find((a) => a.labels.alertname === rule && a.labels.pod === pod);
  const at = (iso: string | null) => Date.parse(iso ?? "");

  beforeAll(async () => {
    net = await createPodNetwork({ prefix: "ca" });
    api = await startFakeKubeApi();
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-cluster-alerts-"));
    await writeFile(path.join(dir, "rules.yaml"), FAST_RULES);
    const kubeconfig = await api.writeKubeconfig(dir);
    let host = 10;
    for (const name of ["srv", "tw", "syn", "steady", "ramp"] as const) {
      host++;
      pods[name] = await net.addPod(name, { ipv4: `10.244.15.${host}`, ipv6: `fd00:244:15::${host}` });
      api.addPod(
        makePod({
          namespace: "shop",
          name,
          node: NODE,
          ips: [pods[name].ipv4, pods[name].ipv6],
          owner: { kind: "StatefulSet", name: `${name}-set` },
        }),
      );
    }
    servers.push(await startServer(pods.srv, pods.srv.ipv4, PORT.srv));
    // A listener whose handshakes never complete: SYN-ACKs to an address nobody has.
    servers.push(await startServer(pods.syn, pods.syn.ipv4, PORT.syn, { hold: true, backlog: 128 }));
    for (const role of ["tw", "steady", "ramp"] as const)
      churns[role] = await startPacedChurn(pods[role], pods.srv.ipv4, PORT.srv, [[0, RATES[role]]]);
    // A flood, not a burst: a full SYN queue drops its oldest request socks after fewer SYN-ACK retries, so
    // between bursts 10 s apart the half-open count sinks under the floor.
    const flood = () => synBurst(pods.srv, SYN_SOURCE, pods.syn.ipv4, PORT.syn, 100).catch(() => undefined);
    await flood();
    synFlood = setInterval(flood, 2000);
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    const summaries = nc.subscribe(summarySubject(NODE));
    void (async () => {
      for await (const m of summaries) {
        const summary = NodeSummarySchema.parse(m.json());
        for (const e of summary.pods)
          if (e.owner.kind === "pod" && e.sockets) {
            if (!firstWindow.has(e.owner.name)) firstWindow.set(e.owner.name, summary.windowEnd);
            if (e.owner.name === "syn" && synWindows.length < 5)
              synWindows.push({
                end: summary.windowEnd,
                synRecv: e.sockets.SYN_RECV,
                listeners: e.listeners,
                counters: e.netnsCounters,
              });
          }
      }
    })();
    collector = await startCollector(nats.url, [
      "--rules",
      path.join(dir, "rules.yaml"),
      "--peer-names",
      "off",
    ]);
    await collector.waitReady();
    await new Promise((r) => setTimeout(r, WARM_UP_MS));
    timeWaitAtStart = await timeWaitIn(pods.tw);
    agent = await startAgent([...kubeAgentArgs(NODE, kubeconfig), "--nats-url", nats.url]);
    await waitReady(agent);
    watchedFrom = Date.now();
    poller = setInterval(() => void alerts().catch(() => undefined), 1000);
  }, 150_000);

  afterAll(async () => {
    clearInterval(poller);
    clearInterval(synFlood);
    for (const c of Object.values(churns)) await c.stop().catch(() => undefined);
    const agentCode = await agent?.stop();
    const collectorCode = await collector?.stop();
    await nc?.close();
    for (const s of servers) await s.stop().catch(() => undefined);
    await nats?.destroy();
    await api?.stop();
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
    expect(agentCode).toBe(0);
    expect(collectorCode).toBe(0);
  });

  it("a pod already holding ≥ 10,000 TIME_WAIT when the agent starts fires TimeWaitBuildup within for + two windows", async () => {
    expect(timeWaitAtStart).toBeGreaterThanOrEqual(10_000);
    await expect
      .poll(() => firing("TimeWaitBuildup", "tw"), { timeout: FOR_MS + 15_000, interval: 250 })
      .toBeDefined();
    const alert = (await firing("TimeWaitBuildup", "tw")) as AlertView;
    expect(alert.labels).toEqual({
      alertname: "TimeWaitBuildup",
      severity: "warning",
      namespace: "shop",
      pod: "tw",
      workload: "StatefulSet/tw-set",
      node: NODE,
    });
    expect(alert.value).toBeGreaterThanOrEqual(10_000);
    expect(alert.annotations.summary).toContain("above the cold-start floor of 10000");
    // Data time: pending from the first window that carried the pod, firing `for` later.
    const first = firstWindow.get("tw") as number;
    expect(first - watchedFrom).toBeLessThanOrEqual(FIRST_WINDOW_WITHIN_MS);
    expect(at(alert.activeAt)).toBe(first);
    expect(at(alert.firedAt) - first).toBeLessThanOrEqual(FOR_MS + 2 * WINDOW_MS);
  });

  it("a pod under a half-open SYN flood from the start fires SynRecvBuildup naming the port", async () => {
    await expect
      .poll(() => firing("SynRecvBuildup", "syn"), { timeout: FOR_MS + 15_000, interval: 250 })
      .toBeDefined();
    const alert = (await firing("SynRecvBuildup", "syn")) as AlertView;
    expect(alert.labels).toMatchObject({ severity: "critical", namespace: "shop", pod: "syn", port: "9000" });
    expect(alert.value).toBeGreaterThanOrEqual(50);
    expect(alert.annotations.description).toContain("port 9000: SYN queue");
    const first = firstWindow.get("syn") as number;
    expect(first - watchedFrom).toBeLessThanOrEqual(FIRST_WINDOW_WITHIN_MS);
    expect(at(alert.activeAt), JSON.stringify(synWindows)).toBe(first);
    expect(at(alert.firedAt) - first).toBeLessThanOrEqual(FOR_MS + 2 * WINDOW_MS);
  });

  it("a pod that ramps from normal to 10× over the baseline window fires (its quiet level decides)", async () => {
    const wait = watchedFrom + RAMP_AFTER_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // Before the ramp it held its normal level: nothing pending for it.
    expect(seen.filter((s) => s.alert.labels.pod === "ramp")).toEqual([]);
    await churns.ramp?.stop();
    churns.ramp = await startPacedChurn(pods.ramp, pods.srv.ipv4, PORT.srv, [
      [0, RATES.ramp],
      [BASELINE_WINDOW_MS, 10 * RATES.ramp],
    ]);
    const rampedAt = Date.now();
    await expect
      .poll(() => firing("TimeWaitBuildup", "ramp"), {
        timeout: BASELINE_WINDOW_MS + FOR_MS + 15_000,
        interval: 500,
      })
      .toBeDefined();
    const alert = (await firing("TimeWaitBuildup", "ramp")) as AlertView;
    // Under the cold-start floor all along: the baseline fired it, not the floor.
    expect(alert.value).toBeLessThan(10_000);
    expect(alert.annotations.summary).toContain("4× its baseline");
    expect(at(alert.activeAt)).toBeGreaterThan(rampedAt);
    expect(at(alert.firedAt) - rampedAt).toBeLessThanOrEqual(BASELINE_WINDOW_MS + FOR_MS + 2 * WINDOW_MS);
  }, 120_000);

  it("a steady pod (20 connections/s) never fires: not on the cold-start floor, nor against its baseline", async () => {
    // Watched through the cold start and a whole baseline window after its baseline began to count.
    expect(Date.now() - watchedFrom).toBeGreaterThan(BASELINE_WINDOW_MS / 2 + BASELINE_WINDOW_MS);
    // It does hold what 20 connections/s hold: over the floor (500), under the cold-start floor.
    expect(await timeWaitIn(pods.steady)).toBeGreaterThan(1000);
    await alerts();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => s.alert.labels.pod === "steady").map((s) => s.alert.labels)).toEqual([]);
  });

  it("a Prometheus scraping the agent and the collector gets no metric name with two label sets", async () => {
    const [agentText, collectorText] = [
      (await agent.get("/metrics")).text,
      (await collector.get("/metrics")).text,
    ];
    const agentSets = labelSetsByMetric(agentText);
    const collectorSets = labelSetsByMetric(collectorText);
    // Last, when both have exported per-pod series for a while. Each name has one owner: the collector
    // tcpstate_pod_*, the agent tcpstate_agent_pod_*; names both export (build info, process) agree.
    expect(agentSets.has("tcpstate_agent_pod_transitions_total")).toBe(true);
    expect(collectorSets.has("tcpstate_pod_transitions_total")).toBe(true);
    const clashes = [...agentSets]
      .filter(([name]) => collectorSets.has(name))
      .map(([name, sets]) => ({ name, agent: [...sets], collector: [...(collectorSets.get(name) ?? [])] }))
      .filter((c) => new Set([...c.agent, ...c.collector]).size > 1);
    expect(clashes).toEqual([]);
  });
});
