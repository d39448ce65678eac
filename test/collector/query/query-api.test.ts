import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { zeroGauges } from "../../../agent/wire/gauges.js";
import { ClusterModel } from "../../../collector/model/cluster-model.js";
import type { Peer } from "../../../collector/peers/peer-directory.js";
import type { ServiceHttp } from "../../../common/service-http.js";
import { serveModel } from "../../support/model-http.js";
import { podOwner, TEST_EPOCH, testSummary } from "../../support/summaries.js";

const WINDOWS = 240; // 20 minutes of 5 s windows
const NOW = TEST_EPOCH + WINDOWS * 5000;
// biome-ignore lint/suspicious/noExplicitAny: response bodies, checked field by field by the assertions
type Json = any;

const api = podOwner("uid-api", "api", "shop", "api");
const web = podOwner("uid-web", "web", "shop", "web");
const db = podOwner("uid-db", "db", "data", "db");
const batch = podOwner("uid-batch", "batch", "jobs", "batch");

const sockets = (s: Partial<ReturnType<typeof zeroGauges>>) => ({ ...zeroGauges(), ...s });
const peers = new Map<string, Peer>([
  ["10.0.3.7", { kind: "service", name: "data/postgres" }],
  ["fd00::9", { kind: "pod", name: "data/db" }],
]);

describe("query API", () => {
  let http: ServiceHttp;
  let base: string;
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as { [key: string]: Json; pods: Json[] } };
  };

  beforeAll(async () => {
    const model = new ClusterModel(3_600_000, 86_400_000, () => NOW);
    for (let seq = 0; seq < WINDOWS; seq++) {
      const recent = seq >= WINDOWS - 60; // the last 5 minutes
      const pods: Parameters<typeof testSummary>[2] = [
        // api: 100 opens a window (20/s) all along, 2 failed connects a window
        {
          owner: api,
          window: { active_opens: 100, failed_connects: 2, closes: 100 },
          entry: {
            sockets: sockets({ ESTABLISHED: 5, TIME_WAIT: 300 + seq }),
            topDestinations: {
              connects: [{ endpoint: "10.0.3.7:5432", count: 100 }],
              timeWait: [{ endpoint: "[fd00::9]:8080", count: 30 }],
            },
          },
        },
        // web: 25 passive opens a window (5/s), TIME_WAIT low, SYN_RECV piling up on :8080
        {
          owner: web,
          window: { passive_opens: 25, resets: 1 },
          entry: {
            sockets: sockets({ SYN_RECV: 900, TIME_WAIT: 3 }),
            listeners: [
              { address: "0.0.0.0", port: 9090, acceptQueue: 0, backlog: 128, synQueue: 0 },
              { address: "0.0.0.0", port: 8080, acceptQueue: 4, backlog: 128, synQueue: 900 },
            ],
          },
        },
      ];
      // batch churned hard 15 minutes ago, then went quiet (reports nothing more)
      if (seq < 30) pods.push({ owner: batch, window: { active_opens: 1000 } });
      const first = testSummary("node-1", seq, pods);
      // db on node-2: quiet, a CLOSE_WAIT leak; 10 opens in the last 5 minutes only
      const second = testSummary("node-2", seq, [
        {
          owner: db,
          window: { passive_opens: recent ? 10 : 0 },
          entry: { sockets: sockets({ CLOSE_WAIT: 40 }) },
        },
      ]);
      model.apply(first);
      model.apply(second);
    }
    http = await serveModel(model, { clock: () => NOW, peers: { byIp: (ip) => peers.get(ip) } });
    base = `http://127.0.0.1:${http.port}`;
  });
  afterAll(() => http?.close());

  it("ranks pods by churn over the window with exact counters and rates", async () => {
    const { status, body } = await get("/api/v1/pods?sort=churn&window=5m&limit=10");
    expect(status).toBe(200);
    expect(body.pods.map((p) => p.name)).toEqual(["api", "web", "db"]);
    const [a, w, d] = body.pods;
    expect(a.churnPerSecond).toBe(20);
    expect(a.counters).toMatchObject({ active_opens: 6000, failed_connects: 120, closes: 6000 });
    expect(a.coveredSeconds).toBe(300);
    expect(w.churnPerSecond).toBe(5);
    expect(d.counters.passive_opens).toBe(600);
    expect(a.workload).toBe("Deployment/api");
    expect(a.sockets.TIME_WAIT).toBe(300 + WINDOWS - 1);
  });

  it("takes the window asked for: a pod quiet for 15 minutes is gone from 5m and back in 1h", async () => {
    const short = await get("/api/v1/pods?window=5m");
    expect(short.body.pods.map((p) => p.name)).not.toContain("batch");
    const long = await get("/api/v1/pods?window=1h&sort=churn");
    expect(long.body.pods[0]).toMatchObject({ name: "batch", churnPerSecond: 200 });
    expect(long.body.pods[0].counters.active_opens).toBe(30_000);
    // A 1 minute window counts 12 windows exactly.
    const minute = await get("/api/v1/pods?window=1m&namespace=shop");
    expect(minute.body.pods.find((p) => p.name === "api").counters.active_opens).toBe(1200);
  });

  it("takes a compound window: 1m30s counts 18 windows", async () => {
    const r = await get("/api/v1/pods?window=1m30s&namespace=shop");
    expect(r.status).toBe(200);
    expect(r.body.window.seconds).toBe(90);
    expect(r.body.pods.find((p) => p.name === "api").counters.active_opens).toBe(1800);
  });

  it("ranks by gauges and failed connects", async () => {
    const by = async (sort: string) => (await get(`/api/v1/pods?sort=${sort}`)).body.pods.map((p) => p.name);
    expect((await by("time_wait"))[0]).toBe("api");
    expect((await by("syn_recv"))[0]).toBe("web");
    expect((await by("close_wait"))[0]).toBe("db");
    expect((await by("failed_connects"))[0]).toBe("api");
  });

  it("filters by namespace, node and workload, and limits", async () => {
    const names = async (q: string) => (await get(`/api/v1/pods?${q}`)).body.pods.map((p) => p.name).sort();
    expect(await names("namespace=shop")).toEqual(["api", "web"]);
    expect(await names("node=node-2")).toEqual(["db"]);
    expect(await names("workload=Deployment/web")).toEqual(["web"]);
    expect(await names("workload=api")).toEqual(["api"]);
    expect(await names("limit=1")).toEqual(["api"]);
    expect((await get("/api/v1/pods?limit=1")).body.matched).toBe(3);
  });

  it("names destinations by Service or pod, and shows the listener under pressure", async () => {
    const { body } = await get("/api/v1/pods?namespace=shop");
    const a = body.pods.find((p) => p.name === "api");
    expect(a.topDestinations.connects).toEqual([
      { endpoint: "10.0.3.7:5432", count: 100, peer: "data/postgres:5432", peerKind: "service" },
    ]);
    expect(a.topDestinations.timeWait[0]).toMatchObject({ peer: "data/db:8080", peerKind: "pod" });
    const w = body.pods.find((p) => p.name === "web");
    expect(w.listenersUnderPressure).toEqual([
      { address: "0.0.0.0", port: 8080, acceptQueue: 4, backlog: 128, synQueue: 900 },
    ]);
  });

  it("gives one pod with its series at the stored resolution", async () => {
    const { status, body } = await get("/api/v1/pods/shop/api?window=10m");
    expect(status).toBe(200);
    const series = body.series as {
      windowEnd: number;
      churnPerSecond: number;
      sockets: { TIME_WAIT: number };
    }[];
    expect(series).toHaveLength(120);
    expect(series.every((p) => p.churnPerSecond === 20)).toBe(true);
    expect(series.at(-1)?.windowEnd).toBe(NOW);
    expect(series.at(-1)?.sockets.TIME_WAIT).toBe(300 + WINDOWS - 1);
    expect(body.listeners).toEqual([]);
  });

  it("rolls up per workload, namespace and node over the window", async () => {
    const ns = (await get("/api/v1/namespaces?window=5m")).body.namespaces as Json[];
    expect(ns.map((n) => [n.key, n.pods, n.churnPerSecond])).toEqual([
      ["shop", 2, 25],
      ["data", 1, 2],
    ]);
    const wl = (await get("/api/v1/workloads?namespace=shop")).body.workloads as Json[];
    expect(wl.map((w) => w.key)).toEqual(["shop/Deployment/api", "shop/Deployment/web"]);
    expect(wl[0].sockets.TIME_WAIT).toBe(300 + WINDOWS - 1);
    const nodes = (await get("/api/v1/nodes")).body.nodes as Json[];
    expect(nodes.map((n) => [n.node, n.windows, n.pods])).toEqual([
      ["node-1", WINDOWS, 2],
      ["node-2", WINDOWS, 1],
    ]);
  });

  it("answers bad parameters with 400 naming the parameter and the accepted values", async () => {
    const sort = await get("/api/v1/pods?sort=bogus");
    expect(sort.status).toBe(400);
    expect(sort.body).toMatchObject({ parameter: "sort" });
    expect(sort.body.error).toMatch(/sort="bogus".*churn, time_wait, syn_recv, close_wait, failed_connects/);
    const window = await get("/api/v1/pods?window=fortnight");
    expect(window.body.error).toMatch(/window="fortnight".*duration like 5s/);
    const limit = await get("/api/v1/pods?limit=0");
    expect(limit).toMatchObject({ status: 400, body: { parameter: "limit" } });
    const unknown = await get("/api/v1/pods?namespaces=shop");
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/unknown parameter "namespaces"; accepted: namespace, node, workload/);
    expect((await get("/api/v1/pods/shop/api?window=-1m")).status).toBe(400);
    expect((await get("/api/v1/events?state=HALF_OPEN")).body.error).toMatch(/state=.*accepted states/);
  });

  it("answers an unknown pod with 404", async () => {
    const missing = await get("/api/v1/pods/shop/nope");
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/pod shop\/nope not found/);
    expect((await get("/api/v1/pods/shop/api/extra")).status).toBe(404);
  });

  it("answers live events with 503 while NATS is not there", async () => {
    const res = await get("/api/v1/events");
    expect(res.status).toBe(503);
    expect(res.body.error).toMatch(/not connected to NATS/);
  });
});
