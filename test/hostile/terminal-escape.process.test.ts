/**
 * Names the cluster or a local user chose (pod names, namespaces, workloads, nodes, listener and destination
 * addresses, process names from /proc/<pid>/comm, alert texts) reach the terminal escaped: the built CLI's
 * `top`, `pod`, `alerts` and `tail` and the live table of `tcpstate local` show `\x1b` and `\u202e` where a
 * pod tried to clear the screen, retitle the window or reverse the text, and keep their columns aligned.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { zeroGauges } from "../../agent/wire/gauges.js";
import type { Owner } from "../../agent/wire/summary.js";
import { AlertEngine } from "../../collector/alerts/alert-engine.js";
import type { AlertView } from "../../collector/alerts/alert-event.js";
import { parseRulesFile } from "../../collector/alerts/rules-file.js";
import { enrichEvent } from "../../collector/live/event-tap.js";
import { ClusterModel } from "../../collector/model/cluster-model.js";
import { listPods } from "../../collector/query/pod-query.js";
import { PodListQuerySchema } from "../../collector/query/query-params.js";
import type { ServiceHttp } from "../../common/service-http.js";
import { startLiveTable } from "../../local/live-table.js";
import { runCli } from "../support/agent-process.js";
import { serveModel } from "../support/model-http.js";
import { TEST_EPOCH, testSummary } from "../support/summaries.js";

const PWN = "\x1b[2J\x1b]0;pwned\x07"; // clear the screen, set the window title
const POD = `web-${PWN}\u202e1`;
const NAMESPACE = "shop\u2066";
const WORKLOAD = "api\x9b31m"; // a C1 CSI
const NODE = "node-\x7f1";
const COMM = "\x1b]0;pwned\x07-4242"; // a netns named after its process: comm-pid

const SHOWN = {
  pod: "web-\\x1b[2J\\x1b]0;pwned\\x07\\u202e1",
  namespace: "shop\\u2066",
  workload: "Deployment/api\\x9b31m",
  node: "node-\\x7f1",
  comm: "\\x1b]0;pwned\\x07-4242",
};

/**
 * What alerts show of the pod: the engine turns C0 and C1 controls into spaces before labels travel (to
 * Alertmanager, webhooks), and the terminal escaping still shows what is left (the bidi override).
 */
const ALERT_POD = "web- [2J ]0;pwned \u202e1";
const ALERT_SHOWN = { pod: "web- [2J ]0;pwned \\u202e1", node: "node- 1" };

/** Code points a terminal acts on or hides: C0, DEL and C1, zero-width, separators, bidi, joiners, BOM. */
const CONTROL: readonly [number, number][] = [
  [0x00, 0x1f],
  [0x7f, 0x9f],
  [0x200b, 0x200f],
  [0x2028, 0x202e],
  [0x2060, 0x2069],
  [0xfeff, 0xfeff],
];
/** No such character in `text`, except the newlines of its layout where `layout` allows them. */
function expectSafe(text: string, layout = true) {
  const found = [...text].find((c) => {
    const cp = c.codePointAt(0) as number;
    return !(layout && c === "\n") && CONTROL.some(([lo, hi]) => cp >= lo && cp <= hi);
  });
  expect(found).toBeUndefined();
}

const hostilePod: Owner = {
  kind: "pod",
  namespace: NAMESPACE,
  name: POD,
  uid: "uid-hostile",
  hostNetwork: false,
  workload: { kind: "Deployment", name: WORKLOAD },
  labels: { app: `web${PWN}` },
};
const hostileNetns: Owner = { kind: "netns", name: COMM };

/** A minute of windows on NODE: the pod churns and holds CLOSE_WAIT, the netns churns less. */
function hostileWindows(): ReturnType<typeof testSummary>[] {
  return Array.from({ length: 12 }, (_, seq) =>
    testSummary(NODE, seq, [
      {
        owner: hostilePod,
        window: { active_opens: 100 },
        entry: {
          sockets: { ...zeroGauges(), CLOSE_WAIT: 50 },
          listeners: [{ address: "10.0.0.1\u200b", port: 8080, acceptQueue: 0, backlog: 128, synQueue: 3 }],
          topDestinations: { connects: [{ endpoint: `10.0.0.9:5432${PWN}`, count: 7 }], timeWait: [] },
        },
      },
      { owner: hostileNetns, window: { active_opens: 10 } },
    ]),
  );
}

const clock = () => TEST_EPOCH + 12 * 5000;

describe("terminal escaping of hostile names: top and pod over a collector", () => {
  let api: ServiceHttp;
  let server: string;

  beforeAll(async () => {
    const model = new ClusterModel(3_600_000, 86_400_000, clock);
    for (const summary of hostileWindows()) model.apply(summary);
    api = await serveModel(model, { clock });
    server = `http://127.0.0.1:${api.port}`;
  });
  afterAll(async () => {
    await api?.close();
  });

  it("`top -o wide` shows every name escaped and its columns aligned on what is shown", async () => {
    const { code, stdout } = await runCli(["top", "-o", "wide", "--window", "1m", "--server", server]);
    expect(code).toBe(0);
    expectSafe(stdout);
    const [header, podRow, netnsRow] = stdout.trimEnd().split("\n") as [string, string, string];
    expect(podRow.startsWith(`${SHOWN.namespace} `)).toBe(true);
    expect(podRow.indexOf(SHOWN.pod)).toBe(header.indexOf("POD"));
    expect(podRow.indexOf(SHOWN.node)).toBe(header.indexOf("NODE"));
    expect(podRow.indexOf(SHOWN.workload)).toBe(header.indexOf("WORKLOAD"));
    expect(podRow).toContain("10.0.0.9:5432\\x1b[2J\\x1b]0;pwned\\x07 (7)");
    expect(netnsRow.startsWith(`(netns@${SHOWN.node})`)).toBe(true);
    expect(netnsRow.indexOf(SHOWN.comm)).toBe(header.indexOf("POD"));
  });

  it("`top -o json` keeps the names exactly, with nothing raw a terminal acts on", async () => {
    const { code, stdout } = await runCli(["top", "-o", "json", "--window", "1m", "--server", server]);
    expect(code).toBe(0);
    expectSafe(stdout);
    const pods = (JSON.parse(stdout) as { pods: { namespace: string; name: string; workload: string }[] })
      .pods;
    expect(pods.map((p) => p.name)).toEqual([POD, COMM]);
    expect(pods[0]).toMatchObject({ namespace: NAMESPACE, workload: `Deployment/${WORKLOAD}` });
  });

  it("`pod` shows the pod, its listeners and destinations escaped", async () => {
    const { code, stdout } = await runCli([
      "pod",
      `${NAMESPACE}/${POD}`,
      "--window",
      "1m",
      "--server",
      server,
    ]);
    expect(code).toBe(0);
    expectSafe(stdout);
    expect(stdout).toContain(
      `Pod:          ${SHOWN.namespace}/${SHOWN.pod}  (${SHOWN.workload})  on ${SHOWN.node}`,
    );
    expect(stdout).toMatch(/^10\.0\.0\.1\\u200b +8080 /m);
    expect(stdout).toContain("10.0.0.9:5432\\x1b[2J\\x1b]0;pwned\\x07");
  });
});

describe("terminal escaping of hostile names: alerts, tail and errors", () => {
  let server: http.Server;
  let url: string;
  let alerts: AlertView[];
  const event = enrichEvent(
    {
      time: TEST_EPOCH,
      node: NODE,
      owner: hostilePod,
      netns: 4026532000,
      cgroup: 1,
      from: "SYN_SENT",
      to: `ESTABLISHED${PWN}`,
      family: 4,
      saddr: "10.0.0.1",
      sport: 40000,
      daddr: "10.0.0.9",
      dport: 5432,
    },
    null,
  );

  beforeAll(async () => {
    // The alert engine's own texts about the hostile pod: what the collector serves at /api/v1/alerts.
    const engine = new AlertEngine(
      parseRulesFile("rules.yaml", "rules:\n  CloseWaitLeak: {for: 0s, holdDown: 0s, floor: 20}\n"),
    );
    for (const summary of hostileWindows()) engine.apply(summary);
    alerts = engine.list("firing");
    expect(alerts.map((a) => a.labels.pod)).toEqual([ALERT_POD]);

    server = http.createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path === "/api/v1/alerts") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ alerts }));
      } else if (path === "/api/v1/events") {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.end(`${JSON.stringify(event)}\n`);
      } else if (path === "/dropping/api/v1/events") {
        // A client the collector had to drop events for is told so in the stream, between events.
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.end(`${JSON.stringify(event)}\n{"dropped":3}\n${JSON.stringify(event)}\n`);
      } else if (path === "/broken/api/v1/events") {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.end(`not json${PWN}\n`);
      } else {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `boom${PWN}\nforged line` }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it("`alerts` shows the pod and the alert's summary escaped", async () => {
    const { code, stdout } = await runCli(["alerts", "--server", url]);
    expect(code).toBe(0);
    expectSafe(stdout);
    const [header, row] = stdout.trimEnd().split("\n") as [string, string];
    expect(row.indexOf(ALERT_SHOWN.pod)).toBe(header.indexOf("POD"));
    expect(row.indexOf(ALERT_SHOWN.node)).toBe(header.indexOf("NODE"));
    expect(row).toContain("CLOSE_WAIT sockets and not decreasing");
  });

  it("`tail` shows a transition escaped, as text and as JSON equal to what was sent", async () => {
    const text = await runCli(["tail", "--server", url]);
    expect(text.code).toBe(0);
    expectSafe(text.stdout);
    expect(text.stdout).toContain(`${SHOWN.namespace}/${SHOWN.pod}  SYN_SENT -> ESTABLISHED\\x1b[2J`);

    const json = await runCli(["tail", "-o", "json", "--server", url]);
    expect(json.code).toBe(0);
    expectSafe(json.stdout);
    expect(JSON.parse(json.stdout)).toEqual(event);
  });

  it("`tail` says how many events the collector dropped for it and goes on", async () => {
    const text = await runCli(["tail", "--server", `${url}/dropping`]);
    expect(text.code).toBe(0);
    expect(text.stdout.trimEnd().split("\n")).toHaveLength(2);
    expect(text.stderr).toContain("3 events dropped");
    const json = await runCli(["tail", "-o", "json", "--server", `${url}/dropping`]);
    expect(json.code).toBe(0);
    expect(
      json.stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([event, { dropped: 3 }, event]);
  });

  it("a stream line that is not JSON ends `tail` with an escaped message, no stack trace", async () => {
    const { code, stdout, stderr } = await runCli(["tail", "--server", `${url}/broken`]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expectSafe(stderr);
    expect(stderr).toContain("sent a line that is not JSON: not json\\x1b[2J\\x1b]0;pwned\\x07");
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("an error the collector answers is quoted on one escaped line", async () => {
    const { code, stderr } = await runCli(["top", "--server", url]);
    expect(code).toBe(1);
    expectSafe(stderr.trimEnd(), false);
    expect(stderr).toContain("answered 500: boom\\x1b[2J\\x1b]0;pwned\\x07\\nforged line");
  });
});

describe("terminal escaping of hostile names: the live table of `tcpstate local`", () => {
  it("draws the pods and the firing alerts escaped; its own clear-screen is the only control", () => {
    const model = new ClusterModel(3_600_000, 86_400_000, clock);
    const engine = new AlertEngine(
      parseRulesFile("rules.yaml", "rules:\n  CloseWaitLeak: {for: 0s, holdDown: 0s, floor: 20}\n"),
    );
    for (const summary of hostileWindows()) {
      model.apply(summary);
      engine.apply(summary);
    }
    const query = PodListQuerySchema.parse({ sort: "churn", window: "1m", limit: "15" });
    const out = new PassThrough();
    let written = "";
    out.on("data", (d: Buffer) => {
      written += d.toString();
    });
    const table = startLiveTable(
      out as unknown as NodeJS.WriteStream,
      "http://127.0.0.1:1",
      3_600_000,
      () => ({
        pods: listPods(model, null, query, clock()),
        alerts: engine.list("firing"),
      }),
    );
    table.stop();
    expect(written.startsWith("\x1b[H\x1b[2J")).toBe(true);
    const frame = written.slice("\x1b[H\x1b[2J".length);
    expectSafe(frame);
    const lines = frame.split("\n");
    const header = lines.find((l) => l.startsWith("NAMESPACE")) as string;
    const podRow = lines.find((l) => l.startsWith(SHOWN.namespace)) as string;
    expect(podRow.indexOf(SHOWN.pod)).toBe(header.indexOf("POD"));
    const alertLine = lines.find((l) => l.startsWith("FIRING")) as string;
    expect(alertLine.startsWith(`FIRING CloseWaitLeak ${SHOWN.namespace}/${ALERT_SHOWN.pod} — `)).toBe(true);
    expect(alertLine).toContain("CLOSE_WAIT sockets and not decreasing");
  });
});
