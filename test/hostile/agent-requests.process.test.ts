/**
 * No request crashes or stalls the built agent (real bpftrace, as root): each hostile request is refused and
 * counted by reason, and the agent answers /healthz within 1 s right after and serves /metrics. /events is off
 * when the agent publishes to NATS, unless --http-events on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, startAgent, waitReady } from "../support/agent-process.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { healthz, rawRequest, refusedCount, request } from "./hostile-client.js";

/** [what, the raw request, the status, the reason it is counted under]. */
const HOSTILE: [string, string, number, string][] = [
  ["an absolute-form target with a broken IPv6 host", request("http://["), 400, "target_form"],
  ["a scheme-relative target", request("//[/"), 400, "target_characters"],
  ["an absolute-form target with a port out of range", request("http://a:99999/"), 400, "target_form"],
  ["a %-escape that is no UTF-8", request("/events/%C0%AF"), 400, "bad_escape"],
  ["a __proto__ query parameter", request("/events?__proto__=x"), 400, "reserved_parameter"],
  ["a dot segment", request("/events/../metrics"), 400, "dot_segment"],
  ["a 9000-character target", request(`/metrics?${"a".repeat(9000)}`), 414, "target_too_long"],
  ["DELETE", request("/metrics", { method: "DELETE" }), 405, "method"],
  ["CONNECT", "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n", 405, "method"],
  ["a public host name (DNS rebinding)", request("/metrics", { host: "evil.example.com" }), 400, "host"],
];

describe("the agent under hostile requests (built CLI, standalone, real bpftrace)", () => {
  let agent: AgentProcess;

  beforeAll(async () => {
    agent = await startAgent(["--standalone", "--node-name", "hostile-node", "--interval", "1s"]);
    await waitReady(agent);
  });

  afterAll(async () => {
    await agent?.stop();
  });

  it.each(HOSTILE)("refuses %s, counts it and stays up", async (_what, head, status, reason) => {
    const before = await refusedCount(agent.metricsPort, reason);
    const answer = await rawRequest(agent.metricsPort, head);
    expect(answer.status).toBe(status);
    expect(await healthz(agent.metricsPort)).toBe(200);
    expect((await agent.get("/metrics")).status).toBe(200);
    expect(await refusedCount(agent.metricsPort, reason)).toBe(before + 1);
    expect(JSON.parse(answer.body)).toMatchObject({ error: expect.any(String), reason });
  });

  it("answers the names Prometheus and port-forwards use: IPs, localhost, cluster names", async () => {
    for (const host of [
      "127.0.0.1:9464",
      "[::1]:9464",
      "localhost:9464",
      "tcpstate-agent",
      "a.b.svc.cluster.local",
    ])
      expect((await rawRequest(agent.metricsPort, request("/healthz", { host }))).status, host).toBe(200);
  });

  it("sends the security headers", async () => {
    const { headers } = await rawRequest(agent.metricsPort, request("/healthz"));
    expect(headers).toMatchObject({ "x-content-type-options": "nosniff", "x-frame-options": "DENY" });
  });
});

describe("the agent's /events with NATS (built CLI, real nats-server)", () => {
  let nats: NatsServer;

  beforeAll(async () => {
    nats = await startNatsServer();
  });

  afterAll(async () => {
    await nats?.destroy();
  });

  const natsAgent = (env: NodeJS.ProcessEnv = {}) =>
    startAgent(["--standalone", "--node-name", "nats-node", "--interval", "1s", "--nats-url", nats.url], env);

  it("is off, saying why, when the agent publishes to NATS", async () => {
    const agent = await natsAgent();
    try {
      // Aborted after 5 s: a build that streams instead fails here rather than waits.
      const res = await fetch(`http://127.0.0.1:${agent.metricsPort}/events`, {
        signal: AbortSignal.timeout(5000),
      });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: string }).error).toMatch(/NATS.*--http-events on/);
    } finally {
      await agent.stop();
    }
  });

  it("streams with --http-events on", async () => {
    const agent = await natsAgent({ HTTP_EVENTS: "on" });
    try {
      const abort = new AbortController();
      const res = await fetch(`http://127.0.0.1:${agent.metricsPort}/events`, { signal: abort.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/x-ndjson");
      abort.abort();
    } finally {
      await agent.stop();
    }
  });
});
