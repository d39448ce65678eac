/**
 * Entries with nothing in the window — no transition, no socket in the newest gauges, no listener (CNI
 * leftovers, bridge namespaces, a pod that does no networking) — are left out of the ranking and counted, unless
 * asked for; anything else with the least activity in the window stays listed.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COUNTER_NAMES, type CounterName } from "../../../agent/wire/counters.js";
import { zeroGauges } from "../../../agent/wire/gauges.js";
import type { Owner } from "../../../agent/wire/summary.js";
import { ClusterModel } from "../../../collector/model/cluster-model.js";
import { findPod, listPods } from "../../../collector/query/pod-query.js";
import { PodListQuerySchema } from "../../../collector/query/query-params.js";
import type { ServiceHttp } from "../../../common/service-http.js";
import { serveModel } from "../../support/model-http.js";
import { podOwner, TEST_EPOCH, testSummary } from "../../support/summaries.js";

const WINDOWS = 240; // 20 minutes of 5 s windows
const NOW = TEST_EPOCH + WINDOWS * 5000; // a 30 s bucket boundary
const netns = (name: string): Owner => ({ kind: "netns", name });
const gauges = (s: Partial<ReturnType<typeof zeroGauges>>) => ({ ...zeroGauges(), ...s });

const api = podOwner("uid-api", "api", "shop", "api");
const sleeper = podOwner("uid-sleeper", "sleeper", "shop", "sleeper");
const listening = podOwner("uid-listening", "listening", "shop", "listening");
const leftover = netns("cni-0a1b");
const bridge = netns("bridge-zero-gauges");
const recentCloser = netns("recent-closer");
const oldCloser = netns("old-closer");
const oldOpener = netns("old-opener");
/** Opens only in a window that ended 50 s before NOW: inside the 30 s bucket a 45 s window starts in. */
const edgeOpener = netns("edge-opener");

function fixture(): ClusterModel {
  const model = new ClusterModel(3_600_000, 86_400_000, () => NOW);
  for (let seq = 0; seq < WINDOWS; seq++)
    model.apply(
      testSummary("node-1", seq, [
        { owner: api, window: { active_opens: 10 }, entry: { sockets: gauges({ ESTABLISHED: 3 }) } },
        { owner: sleeper },
        {
          owner: listening,
          entry: { listeners: [{ address: "0.0.0.0", port: 80, acceptQueue: 0, backlog: 128, synQueue: 0 }] },
        },
        { owner: leftover },
        { owner: bridge, entry: { sockets: gauges({}) } },
        { owner: recentCloser, window: { closes: seq === 235 ? 3 : 0 }, entry: { sockets: gauges({}) } },
        { owner: oldCloser, window: { closes: seq === 100 ? 3 : 0 }, entry: { sockets: gauges({}) } },
        { owner: oldOpener, window: { passive_opens: seq === 100 ? 4 : 0 }, entry: { sockets: gauges({}) } },
        { owner: edgeOpener, window: { active_opens: seq === 229 ? 7 : 0 }, entry: { sockets: gauges({}) } },
      ]),
    );
  return model;
}

const query = (params: Record<string, string>) => PodListQuerySchema.parse({ limit: "1000", ...params });
const names = (body: ReturnType<typeof listPods>) => body.pods.map((p) => p.name).sort();

describe("idle entries in the pod list", () => {
  const model = fixture();

  it("hides entries with nothing in the window by default and counts them; idle=show lists them", () => {
    const hidden = listPods(model, null, query({ window: "1m" }), NOW);
    expect(names(hidden)).toEqual(["api", "edge-opener", "listening", "recent-closer"]);
    expect(hidden.hiddenIdle).toBe(5);
    expect(hidden.matched).toBe(4);
    const shown = listPods(model, null, query({ window: "1m", idle: "show" }), NOW);
    expect(shown.pods).toHaveLength(9);
    expect(shown.hiddenIdle).toBe(0);
    expect(shown.matched).toBe(9);
  });

  it("counts any transition in the window, closes too, and none before it (the 30 s bucket split exactly)", () => {
    const over = (window: string) => names(listPods(model, null, query({ window }), NOW));
    // 45 s starts mid-bucket: edge-opener's opens lie in that bucket but ended before the window.
    expect(over("45s")).not.toContain("edge-opener");
    expect(over("1m")).toContain("edge-opener");
    expect(over("5m")).not.toContain("old-closer");
    expect(over("5m")).not.toContain("old-opener");
    // Within the buckets' horizon (15m) and past it (1h): the closes and the opens 11.7 minutes ago count.
    for (const window of ["15m", "1h"]) {
      expect(over(window)).toContain("old-closer");
      expect(over(window)).toContain("old-opener");
    }
  });

  it("keeps the ranking: the same top rows whether idle entries are hidden or not", () => {
    const rank = (sort: string, limit: string, idle: string) =>
      listPods(model, null, query({ sort, window: "5m", limit, idle }), NOW).pods.map((p) => p.name);
    const active = new Set(rank("churn", "1000", "hide"));
    for (const sort of ["churn", "time_wait", "failed_connects"]) {
      const everyone = rank(sort, "1000", "show");
      expect(rank(sort, "2", "hide")).toEqual(everyone.filter((n) => active.has(n)).slice(0, 2));
    }
    expect(rank("churn", "2", "hide")[0]).toBe("api");
  });

  it("still finds an idle pod asked for by name", () => {
    expect(findPod(model, "shop", "sleeper")?.latest.owner.name).toBe("sleeper");
  });

  it("hides exactly the entries whose decoded window holds no transition and that hold no socket or listener", () => {
    const owners = Array.from({ length: 6 }, (_, i) => netns(`ns-${i}`));
    const appearance = fc.record({
      seqs: fc.uniqueArray(fc.integer({ min: 0, max: WINDOWS - 1 }), { maxLength: 6 }),
      counter: fc.constantFrom(...COUNTER_NAMES),
      count: fc.integer({ min: 0, max: 3 }),
      sockets: fc.constantFrom("null", "zero", "held"),
      listener: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(appearance, { minLength: owners.length, maxLength: owners.length }),
        fc.constantFrom("45s", "1m", "5m", "7m", "15m", "1h"),
        fc.constantFrom("churn", "time_wait"),
        (pods, window, sort) => {
          const m = new ClusterModel(3_600_000, 86_400_000, () => NOW);
          for (let seq = 0; seq < WINDOWS; seq++) {
            const present = pods.flatMap((p, i) =>
              p.seqs.includes(seq) ? [{ p, owner: owners[i] as Owner }] : [],
            );
            if (present.length === 0) continue;
            m.apply(
              testSummary(
                "node-1",
                seq,
                present.map(({ p, owner }) => ({
                  owner,
                  window: { [p.counter as CounterName]: p.count },
                  entry: {
                    sockets:
                      p.sockets === "null" ? null : gauges(p.sockets === "held" ? { CLOSE_WAIT: 1 } : {}),
                    listeners: p.listener
                      ? [{ address: "::", port: 8080, acceptQueue: 0, backlog: 1, synQueue: 0 }]
                      : [],
                  },
                })),
              ),
            );
          }
          const q = query({ window, sort });
          const since = NOW - q.window;
          // The obvious answer: decode every entry's points in the window.
          const expected: string[] = [];
          let idle = 0;
          for (const r of m.podRecords()) {
            if (r.lastSeen <= since) continue;
            const points = r.pointsSince(since);
            const transitions = points.some((pt) => COUNTER_NAMES.some((n) => pt.window[n] > 0));
            const holds =
              r.latest.listeners.length > 0 || Object.values(r.latest.sockets ?? {}).some((v) => v > 0);
            if (transitions || holds) expected.push(r.latest.owner.name);
            else idle++;
          }
          const body = listPods(m, null, q, NOW);
          expect(names(body)).toEqual(expected.sort());
          expect(body.hiddenIdle).toBe(idle);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("idle parameter over HTTP", () => {
  let http: ServiceHttp;
  let base: string;
  beforeAll(async () => {
    http = await serveModel(fixture(), { clock: () => NOW });
    base = `http://127.0.0.1:${http.port}`;
  });
  afterAll(() => http?.close());

  it("takes idle=show|hide and refuses anything else with 400 naming it", async () => {
    const shown = await (await fetch(`${base}/api/v1/pods?window=1m&idle=show`)).json();
    expect(shown).toMatchObject({ hiddenIdle: 0, matched: 9 });
    const res = await fetch(`${base}/api/v1/pods?idle=all`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { parameter: string; error: string };
    expect(body).toMatchObject({ parameter: "idle" });
    expect(body.error).toMatch(/idle="all".*hide, show/);
  });

  it("answers for an idle pod by name", async () => {
    const res = await fetch(`${base}/api/v1/pods/shop/sleeper?window=5m`);
    expect(res.status).toBe(200);
  });
});
