/**
 * Acceptance, for real: pods on the real kernel → agent (1 s windows) → real nats-server → collector → real
 * Alertmanager. Pod A piles up TIME_WAIT (thousands of short connections it closes first), pod B gets half-open
 * connections (raw SYNs nobody answers), pod C runs steady moderate traffic. TimeWaitBuildup fires for A and
 * SynRecvBuildup for B (naming B's port) within `for` + two windows; nothing fires for C; a collector restarted
 * while they fire keeps them firing once, without re-sending; both resolve once the sockets are gone.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertEvent, AlertView } from "../../collector/alerts/alert-event.js";
import { publishedEventIds } from "../../collector/alerts/sinks/nats-sink.js";
import { type AgentProcess, kubeAgentArgs, startAgent, waitReady } from "../support/agent-process.js";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";
import { type FakeKubeApi, makePod, startFakeKubeApi } from "../support/fake-kube-api.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { createPodNetwork, exec, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { runClient, type ServerHandle, startServer, synBurst } from "../support/traffic.js";
import { type AlertmanagerProcess, startAlertmanager } from "./alertmanager-process.js";

const WINDOW_MS = 1000;
/**
 * The agent's windows are timer-driven, but each is stamped when its gauge pass ends: a few ms after its nominal
 * second on an idle machine, hundreds of ms when the pass reads socket tables (B's request socks) on a busy one.
 */
const WINDOW_JITTER_MS = 500;
const TW_FOR_MS = 3000;
const SYN_FOR_MS = 2000;
const QUIET_MS = 30_000;
const RULES = `rules:
  TimeWaitBuildup: {for: 3s, holdDown: 3s, floor: 500, factor: 4, baselineWindow: 5m, coldStartFloor: 2000}
  SynRecvBuildup: {for: 2s, holdDown: 3s, floor: 50, factor: 4, baselineWindow: 5m}
`;

describe("alerts end to end (real kernel, nats-server, Alertmanager)", () => {
  let net: PodNetwork;
  const pods: Record<string, Pod> = {};
  let api: FakeKubeApi;
  let dir: string;
  let nats: NatsServer;
  let nc: NatsConnection;
  let sub: Subscription;
  const published: AlertEvent[] = [];
  let am: AlertmanagerProcess;
  let collector: CollectorProcess;
  let agent: AgentProcess;
  const servers: ServerHandle[] = [];
  let steady = true;
  let steadyLoop: Promise<void> | undefined;
  /** Every alert list the API gave while the test ran (to prove nothing fired for C). */
  const seen: AlertView[] = [];
  let firingBeforeRestart: AlertView[] = [];

  const collectorArgs = () => [
    "--rules",
    path.join(dir, "rules.yaml"),
    "--alertmanager-url",
    am.url,
    "--alert-resend-interval",
    "2s",
    "--peer-names",
    "off",
  ];

  async function alerts(state = "all"): Promise<AlertView[]> {
    const list = ((await collector.get(`/api/v1/alerts?state=${state}`)).json() as { alerts: AlertView[] })
      .alerts;
    seen.push(...list);
    return list;
  }
  const key = (a: { labels: Record<string, string> }) => `${a.labels.alertname}/${a.labels.pod}`;

  beforeAll(async () => {
    net = await createPodNetwork({ prefix: "tl" });
    api = await startFakeKubeApi();
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-alerts-e2e-"));
    await writeFile(path.join(dir, "rules.yaml"), RULES);
    const kubeconfig = await api.writeKubeconfig(dir);
    let host = 10;
    for (const name of ["a", "b", "c", "s"]) {
      host++;
      const pod = await net.addPod(name, { ipv4: `10.244.11.${host}`, ipv6: `fd00:244:11::${host}` });
      pods[name] = pod;
      api.addPod(
        makePod({
          namespace: "shop",
          name,
          node: "node-1",
          ips: [pod.ipv4, pod.ipv6],
          owner: { kind: "StatefulSet", name: `${name}-set` },
        }),
      );
    }
    const p = pods as Record<"a" | "b" | "c" | "s", Pod>;
    servers.push(await startServer(p.s, p.s.ipv4, 8080));
    servers.push(await startServer(p.b, p.b.ipv4, 8443));
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    sub = nc.subscribe("tcpstate.v1.alerts.>");
    void (async () => {
      for await (const m of sub) published.push(m.json<AlertEvent>());
    })();
    am = await startAlertmanager();
    collector = await startCollector(nats.url, collectorArgs());
    await collector.waitReady();
    agent = await startAgent([...kubeAgentArgs("node-1", kubeconfig), "--nats-url", nats.url]);
    await waitReady(agent);
    // C: steady moderate traffic (about 5 connections/s, closed first: a few hundred TIME_WAIT at most).
    steadyLoop = (async () => {
      while (steady) {
        await runClient(p.c, { host: p.s.ipv4, port: 8080, count: 5 });
        await new Promise((r) => setTimeout(r, 700));
      }
    })();
  }, 90_000);

  afterAll(async () => {
    steady = false;
    await steadyLoop?.catch(() => undefined);
    const agentCode = await agent?.stop();
    const collectorCode = await collector?.stop();
    sub?.unsubscribe();
    await nc?.close();
    for (const s of servers) await s.stop().catch(() => undefined);
    await am?.destroy();
    await nats?.destroy();
    await api?.stop();
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
    expect(agentCode).toBe(0);
    expect(collectorCode).toBe(0);
  });

  it("fires TimeWaitBuildup for A and SynRecvBuildup for B (its port) within for + two windows; Alertmanager lists them", async () => {
    const p = pods as Record<"a" | "b" | "c" | "s", Pod>;
    // Quiet windows first. The pods are younger than half the 5m baseline window throughout: no baseline yet,
    // so the cold-start floor (2000 here) decides: A's ~3000 TIME_WAIT passes it, C's few hundred do not.
    await new Promise((r) => setTimeout(r, QUIET_MS));
    const a = await runClient(p.a, { host: p.s.ipv4, port: 8080, count: 3000, concurrency: 16 });
    expect(a.ok).toBe(3000);
    const aDone = Date.now();
    await synBurst(p.s, "10.244.11.99", p.b.ipv4, 8443, 200);
    const bDone = Date.now();

    await expect
      .poll(async () => (await alerts("firing")).map(key).sort(), { timeout: 20_000, interval: 250 })
      .toEqual(["SynRecvBuildup/b", "TimeWaitBuildup/a"]);
    const firing = await alerts("firing");
    firingBeforeRestart = firing;
    const tw = firing.find((x) => x.labels.alertname === "TimeWaitBuildup") as AlertView;
    const syn = firing.find((x) => x.labels.alertname === "SynRecvBuildup") as AlertView;
    expect(tw.labels).toEqual({
      alertname: "TimeWaitBuildup",
      severity: "warning",
      namespace: "shop",
      pod: "a",
      workload: "StatefulSet/a-set",
      node: "node-1",
    });
    expect(syn.labels).toMatchObject({
      alertname: "SynRecvBuildup",
      severity: "critical",
      pod: "b",
      port: "8443",
    });
    expect(tw.value).toBeGreaterThanOrEqual(2900);
    expect(syn.value).toBeGreaterThanOrEqual(100);
    expect(syn.annotations.description).toContain("port 8443: SYN queue");
    // The value is B's half-open count as ss sees it (some raw SYNs never make it: ss is the truth).
    const halfOpen = (await exec(p.b, ["ss", "-Htan", "state", "syn-recv"]))
      .split("\n")
      .filter(Boolean).length;
    expect(Math.abs(syn.value - halfOpen)).toBeLessThanOrEqual(Math.max(3, halfOpen * 0.05));
    // Data time: pending from the first window that saw it (at most two windows after the traffic, plus the
    // agent's up to 1 s late gauges), firing `for` later (plus at most one window).
    const at = (iso: string | null) => Date.parse(iso ?? "");
    expect(at(tw.activeAt) - aDone).toBeLessThanOrEqual(2 * WINDOW_MS + 1000);
    expect(at(tw.firedAt) - at(tw.activeAt)).toBeLessThanOrEqual(TW_FOR_MS + WINDOW_MS + WINDOW_JITTER_MS);
    expect(at(tw.firedAt) - aDone).toBeLessThanOrEqual(TW_FOR_MS + 2 * WINDOW_MS + 1000 + WINDOW_JITTER_MS);
    expect(at(syn.activeAt) - bDone).toBeLessThanOrEqual(2 * WINDOW_MS + 1000);
    expect(at(syn.firedAt) - at(syn.activeAt)).toBeLessThanOrEqual(SYN_FOR_MS + WINDOW_MS + WINDOW_JITTER_MS);
    expect(at(syn.firedAt) - bDone).toBeLessThanOrEqual(SYN_FOR_MS + 2 * WINDOW_MS + 1000 + WINDOW_JITTER_MS);

    await expect
      .poll(
        async () =>
          (await am.alerts())
            .map((x) => `${x.labels.alertname}/${x.labels.pod}/${x.labels.port ?? ""}`)
            .sort(),
        {
          timeout: 10_000,
        },
      )
      .toEqual(["SynRecvBuildup/b/8443", "TimeWaitBuildup/a/"]);
    const inAm = await am.alerts();
    expect(inAm.find((x) => x.labels.pod === "a")?.labels).toEqual(tw.labels);
    expect(at(inAm.find((x) => x.labels.pod === "a")?.startsAt ?? null)).toBe(at(tw.activeAt));
  }, 90_000);

  it("a collector restarted while they fire: still firing once, not re-sent as new", async () => {
    expect(await collector.stop()).toBe(0);
    collector = await startCollector(nats.url, collectorArgs());
    await collector.waitReady();
    const c = collector;
    await expect
      .poll(() => c.logs.find((l) => l.msg === "alert sinks live"), { timeout: 15_000 })
      .toBeDefined();
    const firing = await alerts("firing");
    const same = (list: AlertView[]) =>
      list
        .map((x) => [key(x), x.fingerprint, x.activeAt, x.firedAt])
        .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    expect(same(firing)).toEqual(same(firingBeforeRestart));
    expect(c.logs.find((l) => l.msg === "alert sinks live")).toMatchObject({ catchUpEvents: 0 });
    await new Promise((r) => setTimeout(r, 2500)); // past a resend interval
    // One firing event per alert on NATS (and in the stream), one alert per label set in Alertmanager.
    expect(
      published
        .filter((e) => e.status === "firing")
        .map(key)
        .sort(),
    ).toEqual(["SynRecvBuildup/b", "TimeWaitBuildup/a"]);
    const ids = [...(await publishedEventIds(nc))];
    expect(ids.filter((id) => id.endsWith("/firing"))).toHaveLength(2);
    const inAm = await am.alerts();
    expect(inAm.map((x) => `${x.labels.alertname}/${x.labels.pod}/${x.startsAt}`).sort()).toEqual(
      firingBeforeRestart.map((x) => `${key(x)}/${x.activeAt}`).sort(),
    );
  }, 60_000);

  it("both resolve once the sockets are gone; nothing ever fired for C", async () => {
    const p = pods as Record<"a" | "b" | "c" | "s", Pod>;
    expect((await alerts("firing")).map(key).sort()).toEqual(["SynRecvBuildup/b", "TimeWaitBuildup/a"]);
    // The condition clears: A's TIME_WAIT and B's half-open request socks destroyed (SOCK_DESTROY).
    await exec(p.a, ["ss", "-K", "state", "time-wait"]).catch(() => "");
    await exec(p.b, ["ss", "-K", "state", "syn-recv"]).catch(() => "");
    const cleared = Date.now();
    await expect.poll(async () => (await alerts()).map(key), { timeout: 20_000, interval: 250 }).toEqual([]);
    // Resolved after the hold-down (3 s), not before.
    expect(Date.now() - cleared).toBeGreaterThanOrEqual(3000);
    await expect
      .poll(
        () =>
          published
            .filter((e) => e.status === "resolved")
            .map(key)
            .sort(),
        { timeout: 10_000 },
      )
      .toEqual(["SynRecvBuildup/b", "TimeWaitBuildup/a"]);
    const resolved = published.filter((e) => e.status === "resolved");
    for (const e of resolved) expect(Date.parse(e.endsAt ?? "")).toBeGreaterThan(Date.parse(e.firedAt));
    await expect
      .poll(
        async () => (await am.alerts()).filter((x) => x.status.state === "active").map((x) => x.labels.pod),
        {
          timeout: 10_000,
        },
      )
      .toEqual([]);
    expect(seen.filter((x) => x.labels.pod === "c")).toEqual([]);
    expect(published.filter((e) => e.labels.pod === "c")).toEqual([]);
  }, 60_000);
});
