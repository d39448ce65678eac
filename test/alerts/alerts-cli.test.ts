import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertView } from "../../collector/alerts/alert-event.js";
import { runCli } from "../support/agent-process.js";

const ALERTS: AlertView[] = [
  {
    fingerprint: "08c7cc969e317c23",
    state: "firing",
    labels: {
      alertname: "SynRecvBuildup",
      severity: "critical",
      namespace: "shop",
      pod: "web-1",
      workload: "Deployment/web",
      node: "node-1",
      port: "8443",
    },
    annotations: {
      summary: "SynRecvBuildup on shop/web-1: 180 half-open (SYN_RECV) connections on port 8443",
    },
    activeAt: new Date(Date.now() - 95_000).toISOString(),
    firedAt: new Date(Date.now() - 90_000).toISOString(),
    resolvedAt: null,
    value: 180,
    lastEvaluatedAt: new Date().toISOString(),
  },
  {
    fingerprint: "92efecf0a45e22ef",
    state: "pending",
    labels: {
      alertname: "TimeWaitBuildup",
      severity: "warning",
      namespace: "payments",
      pod: "api-0",
      workload: "",
      node: "node-2",
    },
    annotations: { summary: "TimeWaitBuildup on payments/api-0: 3000 TIME_WAIT sockets" },
    activeAt: new Date(Date.now() - 30_000).toISOString(),
    firedAt: null,
    resolvedAt: null,
    value: 3000,
    lastEvaluatedAt: new Date().toISOString(),
  },
];

const run = (args: string[]) => runCli(["alerts", ...args]);

describe("tcpstate alerts", () => {
  let server: http.Server;
  let url: string;
  const asked: string[] = [];
  let fail = false;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      asked.push(`${u.pathname}?${u.searchParams}`);
      if (fail)
        return void res.writeHead(500, { "content-type": "application/json" }).end('{"error":"boom"}');
      const state = u.searchParams.get("state");
      const alerts = ALERTS.filter((a) => state === "all" || a.state === state);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ state, alerts }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("prints a table of the pending and firing alerts", async () => {
    const r = await run(["--server", url]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^STATE\s+ALERT\s+SEVERITY\s+NAMESPACE\s+POD\s+NODE\s+PORT\/DEST\s+VALUE\s+SINCE\s+SUMMARY$/,
    );
    expect(lines[1]).toMatch(
      /^firing\s+SynRecvBuildup\s+critical\s+shop\s+web-1\s+node-1\s+8443\s+180\s+9\ds\s+180 half-open \(SYN_RECV\) connections on port 8443$/,
    );
    expect(lines[2]).toMatch(
      /^pending\s+TimeWaitBuildup\s+warning\s+payments\s+api-0\s+node-2\s+-\s+3000\s+3\ds\s+3000 TIME_WAIT/,
    );
    expect(asked.at(-1)).toBe("/api/v1/alerts?state=all");
  });

  it("-o json prints the API's alerts; --state filters on the server", async () => {
    const r = await run(["--server", url, "-o", "json", "--state", "firing"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([ALERTS[0]]);
    expect(asked.at(-1)).toBe("/api/v1/alerts?state=firing");
  });

  it("exit 1 when the collector fails or cannot be reached, 2 on usage errors", async () => {
    fail = true;
    const failed = await run(["--server", url]);
    fail = false;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("answered 500");
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const unreachable = await run(["--server", `http://127.0.0.1:${closedPort}`]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain("ECONNREFUSED");
    expect((await run(["--server", url, "-o", "yaml"])).code).toBe(2);
    expect((await run(["--server", url, "--state", "resolved"])).code).toBe(2);
    const badUrl = await run(["--server", "not a url"]);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('invalid --server "not a url"');
  });
});
