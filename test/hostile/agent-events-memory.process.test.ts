/**
 * Clients of the agent's /events that never read cannot grow it: each gets at most its bounded queue, the rest
 * of its events are dropped (counted), and a reading client keeps receiving. Real kernel transitions at the
 * agent's default event rate (TCP churn between two pod network namespaces), the built agent as root.
 */
import type net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, startAgent, waitReady } from "../support/agent-process.js";
import { createPodNetwork, type Pod, type PodNetwork } from "../support/netns-pods.js";
import { runChurn, runClient, type ServerHandle, startServer } from "../support/traffic.js";
import { MiB, metricsText, metricValue, nonReadingClient, peakRss, refusedCount } from "./hostile-client.js";

const PORT = 8080;
const NON_READERS = 20;
const RSS_BOUND = 400 * MiB;
/** The agent's default stream cap (a reading client holds one slot). */
const STREAM_CAP = 16;

describe("the agent's /events with clients that never read (real kernel)", () => {
  let net_: PodNetwork;
  let a: Pod;
  let b: Pod;
  let server: ServerHandle;
  let agent: AgentProcess;

  beforeAll(async () => {
    net_ = await createPodNetwork({ prefix: "hm" });
    a = await net_.addPod("a", { ipv4: "10.244.7.11", ipv6: "fd00:244:7::11" });
    b = await net_.addPod("b", { ipv4: "10.244.7.12", ipv6: "fd00:244:7::12" });
    server = await startServer(b, b.ipv4, PORT);
    agent = await startAgent(["--standalone", "--node-name", "memory-node", "--interval", "1s"]);
    await waitReady(agent);
  });

  afterAll(async () => {
    await agent?.stop();
    await server?.stop().catch(() => undefined);
    await net_?.destroy();
  });

  it(`keeps the agent under ${RSS_BOUND / MiB} MB with ${NON_READERS} non-reading clients while events flow`, async () => {
    const pid = agent.child.pid as number;
    // One client that reads: it proves events flow, and that the non-readers do not starve it.
    const abort = new AbortController();
    const res = await fetch(`http://127.0.0.1:${agent.metricsPort}/events`, { signal: abort.signal });
    let received = 0;
    const reading = (async () => {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>)
        for (const byte of chunk) if (byte === 10) received++;
    })().catch(() => undefined);
    // The event program attaches asynchronously: connect until the reader sees events.
    while (received === 0) await runClient(a, { host: b.ipv4, port: PORT, count: 5, mode: "close-first" });

    const sockets: net.Socket[] = [];
    for (let i = 0; i < NON_READERS; i++) sockets.push(await nonReadingClient(agent.metricsPort, "/events"));
    try {
      const receivedBefore = received;
      const churn = runChurn(a, { host: b.ipv4, port: PORT, seconds: 30, concurrency: 8 });
      const peak = await peakRss(pid, churn);
      const done = await churn;
      expect(peak, `peak RSS ${Math.round(peak / MiB)} MB`).toBeLessThan(RSS_BOUND);
      expect(done.connections).toBeGreaterThan(1000);
      expect(received - receivedBefore).toBeGreaterThan(1000);
      const metrics = await metricsText(agent.metricsPort);
      expect(
        metricValue(metrics, 'tcpstate_http_stream_events_dropped_total{reason="client_behind"}'),
      ).toBeGreaterThan(0);
      expect(metricValue(metrics, "tcpstate_http_stream_clients")).toBe(STREAM_CAP);
      expect(await refusedCount(agent.metricsPort, "too_many_streams")).toBe(NON_READERS + 1 - STREAM_CAP);
    } finally {
      for (const s of sockets) s.destroy();
      abort.abort();
      await reading;
    }
  }, 90_000);
});
