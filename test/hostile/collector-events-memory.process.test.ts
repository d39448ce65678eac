/**
 * Clients of the collector's /api/v1/events that never read cannot grow it: each gets at most its bounded
 * queue, the rest of its events are dropped (counted), and a reading client keeps receiving. Events come as
 * the agents send them: valid transition messages on tcpstate.v1.events.<node>, published at a high rate while
 * the collector holds its lease (a real nats-server, the built collector).
 */
import type net from "node:net";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TransitionEvent, TransitionEventSchema } from "../../agent/wire/events.js";
import { EVENTS_CONTROL_SUBJECT, eventsSubject } from "../../agent/wire/subjects.js";
import { waitHttpOk } from "../support/http-ready.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import type { ServiceProcess } from "../support/service-process.js";
import { MiB, metricsText, metricValue, nonReadingClient, peakRss } from "./hostile-client.js";
import { startCollectorWith } from "./hostile-collector.js";

const NON_READERS = 50;
const RSS_BOUND = 600 * MiB;
const NODE = "node-1";
/** Events per second published, for this long. */
const RATE = 10_000;
const SECONDS = 20;

/** A transition as an agent publishes it, for connection `i`. */
function event(i: number): string {
  const e: TransitionEvent = {
    time: Date.now(),
    node: NODE,
    owner: {
      kind: "pod",
      namespace: "shop",
      name: `web-7d9f8c6b5-${i % 100}`,
      uid: "0b6f3c6e-5a4e-4c1e-9d0a-3f1f2d6c7b8a",
      hostNetwork: false,
      workload: { kind: "Deployment", name: "web" },
      labels: { app: "web", "pod-template-hash": "7d9f8c6b5" },
    },
    netns: 4026532000 + (i % 100),
    cgroup: 12345,
    from: "ESTABLISHED",
    to: "FIN_WAIT1",
    family: 4,
    saddr: "10.244.1.7",
    sport: 30000 + (i % 30000),
    daddr: "10.96.0.10",
    dport: 5432,
  };
  return JSON.stringify(TransitionEventSchema.parse(e));
}

/** Publishes RATE events a second for `seconds`, in 10 ms batches, flushing each so NATS paces the sender. */
async function publishEvents(nc: NatsConnection, seconds: number): Promise<number> {
  const subject = eventsSubject(NODE);
  const samples = Array.from({ length: 1000 }, (_, i) => event(i));
  const perBatch = RATE / 100;
  const end = Date.now() + seconds * 1000;
  let sent = 0;
  while (Date.now() < end) {
    const tick = Date.now();
    for (let i = 0; i < perBatch; i++) nc.publish(subject, samples[sent++ % samples.length] as string);
    await nc.flush();
    await new Promise((r) => setTimeout(r, Math.max(0, 10 - (Date.now() - tick))));
  }
  return sent;
}

describe("the collector's /api/v1/events with clients that never read (real nats-server)", () => {
  let nats: NatsServer;
  let collector: ServiceProcess;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNatsServer();
    collector = await startCollectorWith(nats.url, { MAX_STREAM_CLIENTS: String(NON_READERS + 1) });
    await waitHttpOk(`http://127.0.0.1:${collector.port}/readyz`, 20_000);
    nc = await connect({ servers: nats.url });
  });

  afterAll(async () => {
    await nc?.close();
    await collector?.stop();
    await nats?.destroy();
  });

  it(`keeps the collector under ${RSS_BOUND / MiB} MB with ${NON_READERS} non-reading clients while events flow`, async () => {
    const pid = collector.child.pid as number;
    let leased = false;
    nc.subscribe(EVENTS_CONTROL_SUBJECT, {
      callback: () => {
        leased = true;
      },
    });
    const abort = new AbortController();
    const res = await fetch(`http://127.0.0.1:${collector.port}/api/v1/events`, { signal: abort.signal });
    expect(res.status).toBe(200);
    let received = 0;
    const reading = (async () => {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>)
        for (const byte of chunk) if (byte === 10) received++;
    })().catch(() => undefined);
    const sockets: net.Socket[] = [];
    for (let i = 0; i < NON_READERS; i++)
      sockets.push(await nonReadingClient(collector.port, "/api/v1/events"));
    try {
      await expect.poll(() => leased, { timeout: 10_000 }).toBe(true);
      const publishing = publishEvents(nc, SECONDS);
      const peak = await peakRss(pid, publishing);
      const sent = await publishing;
      expect(peak, `peak RSS ${Math.round(peak / MiB)} MB`).toBeLessThan(RSS_BOUND);
      expect(sent).toBeGreaterThan(RATE * SECONDS * 0.25);
      expect(received).toBeGreaterThan(sent * 0.25);
      const metrics = await metricsText(collector.port);
      expect(
        metricValue(metrics, 'tcpstate_http_stream_events_dropped_total{reason="client_behind"}'),
      ).toBeGreaterThan(0);
      expect(metricValue(metrics, "tcpstate_http_stream_clients")).toBe(NON_READERS + 1);
    } finally {
      for (const s of sockets) s.destroy();
      abort.abort();
      await reading;
    }
  }, 90_000);
});
