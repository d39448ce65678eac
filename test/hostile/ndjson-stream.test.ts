/**
 * The per-client stream writer both services use for live events, on a real loopback HTTP server with small
 * limits: a client that falls behind loses events but is told exactly how many, one that reads nothing is cut
 * at the deadline, and a quiet stream still carries a heartbeat.
 */
import net from "node:net";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NdjsonStream } from "../../common/ndjson-stream.js";
import { type ServiceHttp, startServiceHttp } from "../../common/service-http.js";
import { metricsText, metricValue, unchunk } from "./hostile-client.js";

const LIMITS = { maxClients: 4, maxQueuedBytes: 64 * 1024, stuckAfterMs: 3000, heartbeatMs: 300 };
/** 1 KiB events: 8192 of them (8 MiB) overflow loopback socket buffers and the queue. */
const EVENTS = 8192;
const line = (i: number) => `${JSON.stringify({ i, pad: "x".repeat(1000) })}\n`;

describe("NdjsonStream", () => {
  let service: ServiceHttp;
  const streams = new Set<NdjsonStream>();
  let closed = 0;

  beforeAll(async () => {
    service = await startServiceHttp({
      host: "127.0.0.1",
      port: 0,
      registry: new Registry(),
      logger: pino({ level: "silent" }),
      readiness: () => ({ ready: true, waitingFor: [] }),
      streamLimits: LIMITS,
      routes: {
        "/stream": (_url, res, ctx) => {
          const stream = ctx.streams.open(res);
          if (!stream) return;
          streams.add(stream);
          stream.whenClosed(() => {
            streams.delete(stream);
            closed++;
          });
        },
      },
    });
  });

  afterAll(() => service?.close());

  /** A client that sends its request and reads nothing until resumed. */
  async function pausedClient(): Promise<{ socket: net.Socket; text: () => string }> {
    let text = "";
    const before = streams.size;
    const socket = net.connect(service.port, "127.0.0.1");
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      text += d;
    });
    socket.on("error", () => undefined);
    socket.write("GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await expect.poll(() => streams.size).toBe(before + 1);
    socket.pause();
    return { socket, text: () => text };
  }

  /** Writes the events to every stream, yielding between batches so sockets flush what they can. */
  async function emit(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      for (const s of streams) s.writeLine(line(i));
      if (i % 64 === 63) await new Promise((r) => setImmediate(r));
    }
  }

  it("drops what a lagging client cannot take, counts it, and tells the client exactly how many", async () => {
    const client = await pausedClient();
    await emit(EVENTS);
    client.socket.resume();
    const body = () => unchunk(client.text().slice(client.text().indexOf("\r\n\r\n") + 4));
    const counts = () => {
      const lines = body().split("\n");
      const delivered = lines.filter((l) => l.startsWith('{"i":')).length;
      const notices = lines.filter((l) => l.startsWith('{"dropped":'));
      return { delivered, dropped: notices.reduce((n, l) => n + (JSON.parse(l).dropped as number), 0) };
    };
    // Every event arrives, or is counted in a notice that arrives after the events before it.
    await expect.poll(() => counts().delivered + counts().dropped, { timeout: 5000 }).toBe(EVENTS);
    const { dropped } = counts();
    expect(dropped).toBeGreaterThan(0);
    const metrics = await metricsText(service.port);
    expect(metricValue(metrics, 'tcpstate_http_stream_events_dropped_total{reason="client_behind"}')).toBe(
      dropped,
    );
    client.socket.destroy();
    await expect.poll(() => streams.size).toBe(0);
  });

  it("disconnects a client that reads nothing past the deadline, and frees its slot", async () => {
    const closedBefore = closed;
    const client = await pausedClient();
    const started = Date.now();
    await emit(EVENTS);
    await expect.poll(() => closed, { timeout: LIMITS.stuckAfterMs + 5000 }).toBe(closedBefore + 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(LIMITS.stuckAfterMs);
    const metrics = await metricsText(service.port);
    expect(metricValue(metrics, 'tcpstate_http_stream_clients_disconnected_total{reason="stuck"}')).toBe(1);
    expect(metricValue(metrics, "tcpstate_http_stream_clients")).toBe(0);
    client.socket.destroy();
  });

  it("sends a blank line on a quiet stream (kept open through proxies), which NDJSON readers skip", async () => {
    const client = await pausedClient();
    client.socket.resume();
    // A one-byte chunk: "\n".
    await expect
      .poll(() => client.text().includes("\r\n1\r\n\n\r\n"), { timeout: LIMITS.heartbeatMs * 5 })
      .toBe(true);
    client.socket.destroy();
  });
});
