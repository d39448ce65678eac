/** The alert sinks against real receivers: Alertmanager (Debian prometheus-alertmanager), nats-server, a webhook. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALERT_SCHEMA,
  ALERTS_STREAM,
  type AlertEvent,
  eventId,
} from "../../../collector/alerts/alert-event.js";
import { missingEvents, orphanedFirings } from "../../../collector/alerts/alerting.js";
import { AlertmanagerSink, alertmanagerPayload } from "../../../collector/alerts/sinks/alertmanager-sink.js";
import {
  ensureAlertStream,
  natsAlertSink,
  publishedEventIds,
  readAlertStream,
} from "../../../collector/alerts/sinks/nats-sink.js";
import { webhookSink } from "../../../collector/alerts/sinks/webhook-sink.js";
import { type AlertmanagerProcess, startAlertmanager } from "../../alerts/alertmanager-process.js";
import { type NatsServer, startNatsServer } from "../../support/nats-server.js";

const logger = pino({ level: "silent" });

function event(pod: string, status: AlertEvent["status"], startsAt = "2026-11-28T01:00:00.000Z"): AlertEvent {
  return {
    schema: ALERT_SCHEMA,
    status,
    fingerprint: `fp-${pod}`,
    labels: {
      alertname: "TimeWaitBuildup",
      severity: "warning",
      namespace: "shop",
      pod,
      workload: "Deployment/web",
      node: "node-1",
    },
    annotations: { summary: `TIME_WAIT on ${pod}`, description: "TIME_WAIT 3000; baseline 10" },
    startsAt,
    firedAt: startsAt,
    endsAt: status === "resolved" ? "2026-11-28T01:05:00.000Z" : null,
    value: 3000,
  };
}

describe("Alertmanager sink (real Alertmanager)", () => {
  let am: AlertmanagerProcess;
  beforeAll(async () => {
    am = await startAlertmanager();
  });
  afterAll(async () => {
    await am?.destroy();
  });

  it("payload: firing alerts end 4 intervals from now, resolved ones at their endsAt, startsAt kept", () => {
    const now = Date.parse("2026-11-28T02:00:00Z");
    const payload = alertmanagerPayload([event("a", "firing")], [event("b", "resolved")], now, 60_000);
    expect(payload).toEqual([
      expect.objectContaining({
        labels: expect.objectContaining({ pod: "b" }),
        endsAt: "2026-11-28T01:05:00.000Z",
      }),
      expect.objectContaining({
        labels: expect.objectContaining({ pod: "a" }),
        startsAt: "2026-11-28T01:00:00.000Z",
        endsAt: "2026-11-28T02:04:00.000Z",
      }),
    ]);
  });

  it("Alertmanager lists the firing alerts with their labels; a resolved one leaves; survives Alertmanager being down", async () => {
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    let firing = [event("a", "firing", startsAt), event("b", "firing", startsAt)];
    let resolved: AlertEvent[] = [];
    const sink = new AlertmanagerSink({
      target: { sink: "alertmanager", url: am.url },
      resendIntervalMs: 1000,
      logger,
      alerts: () => ({ firing, resolved }),
    });
    sink.start();
    try {
      await expect
        .poll(async () => (await am.alerts()).map((a) => a.labels.pod).sort(), { timeout: 10_000 })
        .toEqual(["a", "b"]);
      const a = (await am.alerts()).find((x) => x.labels.pod === "a");
      expect(a?.labels).toEqual(event("a", "firing").labels);
      expect(a?.annotations).toEqual(event("a", "firing").annotations);
      expect(Date.parse(a?.startsAt ?? "")).toBe(Date.parse(startsAt));
      expect(a?.status.state).toBe("active");

      // b resolves: told at once (notify), Alertmanager stops listing it as active.
      const endsAt = new Date().toISOString();
      resolved = [{ ...event("b", "resolved", startsAt), endsAt }];
      firing = [event("a", "firing", startsAt)];
      sink.notify();
      await expect
        .poll(
          async () => (await am.alerts()).filter((x) => x.status.state === "active").map((x) => x.labels.pod),
          {
            timeout: 10_000,
          },
        )
        .toEqual(["a"]);

      // Alertmanager restarts and forgets (fresh storage is kept, but alerts live in memory): re-sent.
      await am.stop();
      await new Promise((r) => setTimeout(r, 1500));
      expect(sink.errors).toBeGreaterThan(0);
      await am.start();
      await expect
        .poll(
          async () => (await am.alerts()).filter((x) => x.status.state === "active").map((x) => x.labels.pod),
          {
            timeout: 15_000,
          },
        )
        .toEqual(["a"]);
      expect(sink.sent).toBeGreaterThan(2);
    } finally {
      await sink.close();
    }
  }, 60_000);
});

describe("NATS sink (real nats-server)", () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    await ensureAlertStream(await jetstreamManager(nc), {
      retentionMs: 3_600_000,
      duplicateWindowMs: 1_200_000,
    });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.destroy();
  });

  it("publishes on tcpstate.v1.alerts.<severity> with an id per alert, start and status: a re-publish is dropped", async () => {
    const sub = nc.subscribe("tcpstate.v1.alerts.>");
    const got: { subject: string; event: AlertEvent }[] = [];
    void (async () => {
      for await (const m of sub) got.push({ subject: m.subject, event: m.json<AlertEvent>() });
    })();
    const sink = natsAlertSink(nc, logger);
    sink.push(event("a", "firing"));
    sink.push(event("a", "firing")); // a restarted collector publishing again
    sink.push({ ...event("c", "firing"), labels: { ...event("c", "firing").labels, severity: "critical" } });
    sink.push(event("a", "resolved"));
    await expect.poll(() => sink.sent, { timeout: 10_000 }).toBe(4);
    await sink.close();
    const info = await (await jetstreamManager(nc)).streams.info(ALERTS_STREAM);
    expect(info.state.messages).toBe(3);
    const ids = await publishedEventIds(nc);
    expect([...ids].sort()).toEqual(
      [event("a", "firing"), event("a", "resolved"), event("c", "firing")].map(eventId).sort(),
    );
    await expect.poll(() => got.length).toBe(4); // core subscribers see every publish; the stream keeps one
    expect(got.map((g) => g.subject)).toContain("tcpstate.v1.alerts.critical");
    expect(got[0]).toEqual({ subject: "tcpstate.v1.alerts.warning", event: event("a", "firing") });
    sub.unsubscribe();
  });

  it("the stream's newest event per alert is read back; a firing one the replay did not rebuild is resolved", async () => {
    const { last } = await readAlertStream(nc);
    expect([...last.values()].map((e) => `${e.labels.pod}:${e.status}`).sort()).toEqual([
      "a:resolved",
      "c:firing",
    ]);
    const now = Date.parse("2026-11-28T01:10:00Z");
    expect(orphanedFirings(last, [], [], now)).toEqual([
      {
        ...event("c", "firing"),
        labels: expect.objectContaining({ pod: "c", severity: "critical" }),
        status: "resolved",
        endsAt: "2026-11-28T01:10:00.000Z",
      },
    ]);
    const cFiring = last.get("fp-c") as AlertEvent;
    expect(orphanedFirings(last, [cFiring], [], now)).toEqual([]);
    expect(
      orphanedFirings(last, [{ ...cFiring, startsAt: "2026-11-28T01:07:00.000Z" }], [], now),
    ).toHaveLength(1);
  });

  it("after a restart, only the events the stream lacks are published again", () => {
    const published = new Set([eventId(event("a", "firing"))]);
    const missing = missingEvents(
      [event("a", "firing"), event("b", "firing", "2026-11-28T01:02:00.000Z")],
      [event("c", "resolved")],
      published,
    );
    // Oldest first: c fired at 01:00, b at 01:02, c resolved at 01:05.
    expect(missing.map((e) => `${e.labels.pod}:${e.status}`)).toEqual(["c:firing", "b:firing", "c:resolved"]);
  });
});

describe("webhook sink (real HTTP server)", () => {
  let server: http.Server;
  let url: string;
  const received: { body: AlertEvent; key: string | undefined }[] = [];
  let failNext = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end("busy");
          return;
        }
        received.push({ body: JSON.parse(body), key: req.headers["idempotency-key"] as string | undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("delivers every event in order, retrying a failing receiver with backoff", async () => {
    failNext = 2;
    const sink = webhookSink({ sink: "webhook", url }, logger);
    sink.push(event("a", "firing"));
    sink.push(event("b", "firing"));
    sink.push(event("a", "resolved"));
    await expect.poll(() => received.length, { timeout: 15_000 }).toBe(3);
    expect(received.map((r) => `${r.body.labels.pod}:${r.body.status}`)).toEqual([
      "a:firing",
      "b:firing",
      "a:resolved",
    ]);
    expect(received[0]?.key).toBe(eventId(event("a", "firing")));
    expect(sink.errors).toBe(2);
    expect(sink.dropped).toBe(0);
    await sink.close();
  });

  it("a receiver that is down fills the bounded queue: the oldest are dropped and counted", async () => {
    const sink = webhookSink({ sink: "webhook", url: "http://127.0.0.1:1/hook" }, logger, 3);
    for (const pod of ["a", "b", "c", "d", "e"]) sink.push(event(pod, "firing"));
    expect(sink.dropped).toBe(2);
    expect(sink.queued).toBe(3);
    await expect.poll(() => sink.errors, { timeout: 5000 }).toBeGreaterThan(0);
    await sink.close();
  });

  it("a receiver that rejects an event (4xx) does not block the ones after it", async () => {
    const rejecting = http.createServer((_req, res) => res.writeHead(400).end("bad"));
    await new Promise<void>((r) => rejecting.listen(0, "127.0.0.1", r));
    const sink = webhookSink(
      { sink: "webhook", url: `http://127.0.0.1:${(rejecting.address() as AddressInfo).port}/` },
      logger,
    );
    sink.push(event("a", "firing"));
    sink.push(event("b", "firing"));
    await expect.poll(() => sink.dropped, { timeout: 5000 }).toBe(2);
    expect(sink.queued).toBe(0);
    await sink.close();
    await new Promise<void>((r) => rejecting.close(() => r()));
  });
});
