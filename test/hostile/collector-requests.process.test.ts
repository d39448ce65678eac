/**
 * No request crashes or stalls the built collector: each hostile request is refused (400, 405, 414, 431),
 * counted by reason in tcpstate_http_requests_refused_total, and the collector answers /healthz within 1 s
 * right after and serves a good request. Plus what every answer carries (security headers), whom it answers
 * (the Host check against DNS rebinding), and the limits on connections and live streams.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import type { ServiceProcess } from "../support/service-process.js";
import { healthz, rawRequest, refusedCount, request } from "./hostile-client.js";
import { startCollectorWith } from "./hostile-collector.js";

/** [what, the raw request, the status, the reason it is counted under]. */
const HOSTILE: [string, string, number, string][] = [
  ["an absolute-form target with a broken IPv6 host", request("http://["), 400, "target_form"],
  ["a scheme-relative target", request("//[/"), 400, "target_characters"],
  ["an absolute-form target with a port out of range", request("http://a:99999/"), 400, "target_form"],
  ["a truncated %-escape in a pod name", request("/api/v1/pods/%E0%A4%A/web"), 400, "bad_escape"],
  ["a %-escape that is no UTF-8 in a pod name", request("/api/v1/pods/%C0%AF/web"), 400, "bad_escape"],
  ["a __proto__ query parameter", request("/api/v1/pods?__proto__=x"), 400, "reserved_parameter"],
  ["a constructor query parameter", request("/api/v1/namespaces?constructor=x"), 400, "reserved_parameter"],
  ["a dot segment", request("/api/v1/../../metrics"), 400, "dot_segment"],
  ["a 9000-character target", request(`/api/v1/pods?namespace=${"a".repeat(9000)}`), 414, "target_too_long"],
  ["a 20 KiB header", request("/", { extra: [`X-Big: ${"b".repeat(20_000)}`] }), 431, "headers_too_large"],
  ["a malformed request line", "GET / HTTP/9.9 extra\r\n\r\n", 400, "malformed_request"],
  ["POST", request("/api/v1/pods", { method: "POST", extra: ["Content-Length: 2"] }), 405, "method"],
  ["CONNECT", "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n", 405, "method"],
  [
    "a public name in Host (DNS rebinding)",
    request("/api/v1/pods", { host: "evil.example.com:8080" }),
    400,
    "host",
  ],
];

describe("the collector under hostile requests (built CLI, real nats-server)", () => {
  let nats: NatsServer;
  let collector: ServiceProcess;

  beforeAll(async () => {
    nats = await startNatsServer();
    collector = await startCollectorWith(nats.url, {
      ALLOWED_HOSTS: "dash.example.com",
      MAX_STREAM_CLIENTS: "2",
    });
  });

  afterAll(async () => {
    await collector?.stop();
    await nats?.destroy();
  });

  it.each(HOSTILE)("refuses %s, counts it and stays up", async (_what, head, status, reason) => {
    const before = await refusedCount(collector.port, reason);
    const answer = await rawRequest(collector.port, head);
    expect(answer.status).toBe(status);
    expect(await healthz(collector.port)).toBe(200);
    expect((await fetch(`http://127.0.0.1:${collector.port}/api/v1/pods`)).status).toBe(200);
    expect(await refusedCount(collector.port, reason)).toBe(before + 1);
    expect(JSON.parse(answer.body)).toMatchObject({ error: expect.any(String), reason });
  });

  it("names the refused query parameter", async () => {
    const answer = await rawRequest(collector.port, request("/api/v1/pods?limit=2&__proto__=1"));
    expect(JSON.parse(answer.body)).toMatchObject({ parameter: "__proto__" });
  });

  it("answers port-forwards, cluster names and listed names, whatever their port", async () => {
    for (const host of [
      "127.0.0.1:8080",
      "localhost:8080",
      "[::1]:8080",
      "tcpstate-collector",
      "tcpstate-collector.tcpstate.svc.cluster.local:8080",
      "dash.example.com",
    ])
      expect((await rawRequest(collector.port, request("/api/v1/pods", { host }))).status, host).toBe(200);
  });

  it("sends the security headers with the dashboard, the API and errors", async () => {
    for (const path of ["/", "/dashboard.js", "/api/v1/pods", "/no-such-page", "/api/v1/pods?limit=0"]) {
      const { headers } = await rawRequest(collector.port, request(path));
      expect(headers, path).toMatchObject({
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
      });
      const csp = headers["content-security-policy"] ?? "";
      for (const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
      ])
        expect(csp, path).toContain(directive);
    }
  });

  it("drops a connection that sends nothing, well before Node's default minute", async () => {
    const before = await refusedCount(collector.port, "request_timeout");
    const socket = net.connect(collector.port, "127.0.0.1").resume();
    const started = Date.now();
    await new Promise<void>((resolve) => socket.once("close", () => resolve()).on("error", () => undefined));
    expect(Date.now() - started).toBeLessThan(13_000);
    expect(await refusedCount(collector.port, "request_timeout")).toBe(before + 1);
  }, 20_000);

  it("serves at most --max-stream-clients live streams: the next one is answered 503, a freed slot serves again", async () => {
    const open = async () => {
      const abort = new AbortController();
      const res = await fetch(`http://127.0.0.1:${collector.port}/api/v1/events`, { signal: abort.signal });
      return { res, abort };
    };
    const before = await refusedCount(collector.port, "too_many_streams");
    const first = await open();
    const second = await open();
    expect([first.res.status, second.res.status]).toEqual([200, 200]);
    const third = await open();
    expect(third.res.status).toBe(503);
    expect(await third.res.json()).toMatchObject({ error: expect.stringContaining("live streams") });
    expect(await refusedCount(collector.port, "too_many_streams")).toBe(before + 1);
    first.abort.abort();
    // The slot is freed once the server sees the client gone.
    const statusOfNext = async () => {
      const next = await open();
      next.abort.abort();
      return next.res.status;
    };
    await expect.poll(statusOfNext, { timeout: 5000 }).toBe(200);
    second.abort.abort();
  });

  it("closes connections beyond its cap at once, and answers again when they leave", async () => {
    const sockets = await Promise.all(
      Array.from(
        { length: 300 },
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(collector.port, "127.0.0.1", () => resolve(s)).resume();
            s.on("error", () => undefined);
          }),
      ),
    );
    const closed = () => sockets.filter((s) => s.destroyed || s.readableEnded).length;
    for (const s of sockets) s.on("end", () => s.destroy());
    await expect.poll(closed, { timeout: 5000 }).toBeGreaterThanOrEqual(300 - 256);
    for (const s of sockets) s.destroy();
    await expect.poll(() => healthz(collector.port), { timeout: 5000 }).toBe(200);
    expect(await refusedCount(collector.port, "too_many_connections")).toBeGreaterThanOrEqual(300 - 256);
  });
});
