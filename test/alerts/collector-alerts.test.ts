/**
 * The collector's alerting as users run it: a real collector process, real nats-server, real Alertmanager and a
 * webhook receiver, fed synthetic windows through JetStream. Bad rules stop start-up; alerts reach every sink
 * once; a restart rebuilds the state without re-sending; a ConfigMap-style rules update is applied, a bad one
 * rejected.
 */
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summaryMessageId } from "../../agent/publish/summary-publisher.js";
import { summarySubject } from "../../agent/wire/subjects.js";
import { ALERTS_STREAM, type AlertEvent, type AlertView } from "../../collector/alerts/alert-event.js";
import { nodeWindow, podA, podC } from "../collector/alerts/alert-windows.js";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { retimed } from "../support/summaries.js";
import { type AlertmanagerProcess, startAlertmanager } from "./alertmanager-process.js";

const RULES = `rules:
  TimeWaitBuildup: {for: 2s, holdDown: 1s, floor: 500, factor: 4, baselineWindow: 1m}
`;

describe("collector alerts (real collector, nats-server, Alertmanager, webhook)", () => {
  let dir: string;
  let nats: NatsServer;
  let nc: NatsConnection;
  let am: AlertmanagerProcess;
  let hook: http.Server;
  let hookUrl: string;
  const hooked: AlertEvent[] = [];
  let collector: CollectorProcess | undefined;
  const base = Date.now() - 120_000;
  let seq = 0;

  const rulesLink = () => path.join(dir, "config", "rules.yaml");
  /** Writes the rules like a ConfigMap update: a new directory, then the ..data symlink swapped atomically. */
  async function writeRules(text: string): Promise<void> {
    const version = path.join(dir, "config", `..v${Date.now()}${Math.random().toString(16).slice(2, 6)}`);
    await mkdir(version, { recursive: true });
    await writeFile(path.join(version, "rules.yaml"), text);
    const tmp = path.join(dir, "config", "..data_tmp");
    await symlink(path.basename(version), tmp);
    await rename(tmp, path.join(dir, "config", "..data"));
  }

  async function publish(windows: number, timeWaitOfA: number): Promise<void> {
    const js = jetstream(nc);
    for (let i = 0; i < windows; i++, seq++) {
      // In recent wall time, so Alertmanager takes the alerts as live.
      const s = retimed(
        nodeWindow("node-1", seq, [
          { owner: podA, sockets: { TIME_WAIT: timeWaitOfA } },
          { owner: podC, sockets: { TIME_WAIT: 20 } },
        ]),
        base,
        1000,
      );
      await js.publish(summarySubject("node-1"), JSON.stringify(s), { msgID: summaryMessageId(s) });
    }
  }

  const alerts = async (c: CollectorProcess, state = "all") =>
    ((await c.get(`/api/v1/alerts?state=${state}`)).json() as { alerts: AlertView[] }).alerts;

  const start = () =>
    startCollector(nats.url, [
      "--rules",
      rulesLink(),
      "--alertmanager-url",
      am.url,
      "--webhook-url",
      hookUrl,
      "--alert-resend-interval",
      "2s",
      "--peer-names",
      "off",
    ]);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-alerts-"));
    await mkdir(path.join(dir, "config"));
    await writeRules(RULES);
    await symlink("..data/rules.yaml", rulesLink());
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    am = await startAlertmanager();
    hook = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        hooked.push(JSON.parse(body) as AlertEvent);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
  });

  afterAll(async () => {
    await collector?.stop();
    await nc?.close();
    await nats?.destroy();
    await am?.destroy();
    await new Promise<void>((r) => hook?.close(() => r()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("an invalid rules file stops start-up with exit code 2, naming file, rule and field", async () => {
    const bad = path.join(dir, "bad.yaml");
    await writeFile(bad, "rules:\n  TimeWaitBuildup:\n    treshold: 5\n");
    const failed = await startCollector(nats.url, ["--rules", bad]).then(
      () => "started",
      (err: Error) => err.message,
    );
    expect(failed).toContain("exited (2)");
    expect(failed).toContain(`rules file ${bad}: rule TimeWaitBuildup: field treshold: unknown field`);
  });

  it("fires for the pod whose TIME_WAIT jumps, not for the steady one; every sink hears it once", async () => {
    collector = await start();
    await collector.waitReady();
    await publish(30, 10);
    await publish(5, 3000);
    const c = collector;
    await expect
      .poll(async () => (await alerts(c, "firing")).map((a) => a.labels.pod), { timeout: 15_000 })
      .toEqual(["a"]);
    const [firing] = await alerts(c, "firing");
    expect(firing?.labels).toEqual({
      alertname: "TimeWaitBuildup",
      severity: "warning",
      namespace: "payments",
      pod: "a",
      workload: "Deployment/api",
      node: "node-1",
    });
    expect(firing?.activeAt).toBe(new Date(base + 31_000).toISOString());
    await expect
      .poll(async () => (await am.alerts()).map((a) => [a.labels.alertname, a.labels.pod, a.startsAt]), {
        timeout: 15_000,
      })
      .toEqual([["TimeWaitBuildup", "a", new Date(base + 31_000).toISOString()]]);
    await expect
      .poll(() => hooked.map((e) => `${e.labels.pod}:${e.status}`), { timeout: 10_000 })
      .toEqual(["a:firing"]);
    const metrics = (await c.get("/metrics")).text;
    expect(metrics).toContain(
      'tcpstate_alerts{alertname="TimeWaitBuildup",severity="warning",namespace="payments",pod="a",workload="Deployment/api",node="node-1",port="",state="firing"} 1',
    );
    const info = await (await jetstreamManager(nc)).streams.info(ALERTS_STREAM);
    expect(info.state.messages).toBe(1);
  });

  it("a restarted collector rebuilds the firing alert from the stream and sends nothing new", async () => {
    const before = await alerts(collector as CollectorProcess, "firing");
    expect(await (collector as CollectorProcess).stop()).toBe(0);
    collector = await start();
    await collector.waitReady();
    const c = collector;
    await expect.poll(() => c.logs.some((l) => l.msg === "alert sinks live"), { timeout: 15_000 }).toBe(true);
    expect(await alerts(c, "firing")).toEqual(before);
    expect(c.logs.find((l) => l.msg === "alert sinks live")).toMatchObject({ firing: 1, catchUpEvents: 0 });
    await new Promise((r) => setTimeout(r, 3000)); // a resend interval and more
    expect((await (await jetstreamManager(nc)).streams.info(ALERTS_STREAM)).state.messages).toBe(1);
    expect(hooked.map((e) => `${e.labels.pod}:${e.status}`)).toEqual(["a:firing"]);
    const inAm = await am.alerts();
    expect(inAm.map((a) => [a.labels.pod, a.startsAt])).toEqual([
      ["a", new Date(base + 31_000).toISOString()],
    ]);
  });

  /** Stops the collector, publishes `windows` windows with A's TIME_WAIT at `tw`, starts a new one. */
  async function restartAcross(windows: number, tw: number): Promise<CollectorProcess> {
    expect(await (collector as CollectorProcess).stop()).toBe(0);
    collector = undefined;
    await publish(windows, tw);
    const c = await start();
    collector = c;
    await c.waitReady();
    return c;
  }
  const hookLog = () => hooked.map((e) => `${e.labels.pod}:${e.status}`);
  const streamMessages = async () =>
    (await (await jetstreamManager(nc)).streams.info(ALERTS_STREAM)).state.messages;
  const activeInAm = async () => (await am.alerts()).filter((a) => a.status.state === "active");

  it("an alert that resolves while no collector runs is sent as resolved once the next one has caught up", async () => {
    const c = await restartAcross(5, 10); // clear for longer than the hold-down, with no collector running
    await expect
      .poll(() => c.logs.find((l) => l.msg === "alert sinks live"), { timeout: 15_000 })
      .toMatchObject({ firing: 0, catchUpEvents: 1 });
    expect(await alerts(c)).toEqual([]);
    await expect.poll(hookLog, { timeout: 10_000 }).toEqual(["a:firing", "a:resolved"]);
    expect(hooked[1]?.startsAt).toBe(hooked[0]?.startsAt);
    expect(hooked[1]?.endsAt).toBe(new Date(base + 36_000 + 1000).toISOString()); // clear from 36 s, hold-down 1 s
    await expect.poll(streamMessages, { timeout: 10_000 }).toBe(2);
    await expect.poll(activeInAm, { timeout: 10_000 }).toEqual([]);
  });

  it("a bad rules update is rejected and counted, the rules in force stay; a good one applies", async () => {
    const c = collector as CollectorProcess;
    await writeRules("rules:\n  TimeWaitBuildup: {for: soon}\n");
    await expect
      .poll(async () => (await c.get("/metrics")).text, { timeout: 10_000 })
      .toContain('tcpstate_alerts_rules_reloads_total{result="rejected"} 1');
    const rejected = c.logs.find((l) => l.msg === "alert rules file rejected: keeping the rules in force");
    expect(String(rejected?.err)).toContain("rule TimeWaitBuildup: field for: expected a duration");
    await publish(4, 3000); // the rules in force (for: 2s) still fire
    await expect
      .poll(async () => (await alerts(c, "firing")).map((a) => a.labels.pod), { timeout: 10_000 })
      .toEqual(["a"]);

    await writeRules("rules:\n  TimeWaitBuildup: {enabled: false}\n");
    await expect
      .poll(async () => (await c.get("/metrics")).text, { timeout: 10_000 })
      .toContain('tcpstate_alerts_rules_reloads_total{result="applied"} 1');
    await publish(1, 3000);
    await expect.poll(async () => alerts(c), { timeout: 10_000 }).toEqual([]);
    await expect
      .poll(hookLog, { timeout: 10_000 })
      .toEqual(["a:firing", "a:resolved", "a:firing", "a:resolved"]);
    await expect.poll(activeInAm, { timeout: 10_000 }).toEqual([]);
    expect(await streamMessages()).toBe(4);
  });

  it("an alert the stream shows firing that the replay does not rebuild (the rules changed) is resolved", async () => {
    await writeRules(RULES);
    const first = collector as CollectorProcess;
    await expect
      .poll(async () => (await first.get("/metrics")).text, { timeout: 10_000 })
      .toContain('tcpstate_alerts_rules_reloads_total{result="applied"} 2');
    await publish(4, 3000);
    await expect.poll(hookLog, { timeout: 10_000 }).toHaveLength(5);
    // Replayed with these rules from the start, the second alert never ended and the third never began.
    const c = await restartAcross(5, 10);
    await expect
      .poll(() => c.logs.find((l) => l.msg === "alert sinks live"), { timeout: 15_000 })
      .toMatchObject({ firing: 0, catchUpEvents: 1 });
    expect(await alerts(c)).toEqual([]);
    await expect.poll(hookLog, { timeout: 10_000 }).toHaveLength(6);
    expect(hooked[5]).toMatchObject({ status: "resolved", startsAt: hooked[4]?.startsAt });
    await expect.poll(streamMessages, { timeout: 10_000 }).toBe(6);
    await expect.poll(activeInAm, { timeout: 10_000 }).toEqual([]);
  });
});
