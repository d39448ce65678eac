/**
 * The worst listener, ranked once (collector/model/listener-ranking.ts): what `top -o wide` shows in its
 * LISTENERS column is the listener whose port the SynRecvBuildup alert names.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { zeroGauges } from "../../../agent/wire/gauges.js";
import type { Listener } from "../../../agent/wire/summary.js";
import { evaluateRule, PodMemory } from "../../../collector/alerts/conditions.js";
import { defaultRules } from "../../../collector/alerts/rules-file.js";
import { ClusterModel } from "../../../collector/model/cluster-model.js";
import { listenersUnderPressure, synQueueFull } from "../../../collector/model/listener-ranking.js";
import { listPods } from "../../../collector/query/pod-query.js";
import { PodListQuerySchema } from "../../../collector/query/query-params.js";
import { topTable } from "../../../render/pod-table.js";
import { podOwner, testSummary } from "../../support/summaries.js";

const l = (port: number, synQueue: number, acceptQueue: number, backlog: number): Listener => ({
  address: "10.0.0.2",
  port,
  acceptQueue,
  backlog,
  synQueue,
});

/** The port `top -o wide` shows and the port the SynRecvBuildup alert names, for a pod with `listeners`. */
function shownAndAlerted(listeners: Listener[]): { wide: string; alert: string } {
  const summary = testSummary("node-1", 0, [
    {
      owner: podOwner("uid-web", "web"),
      entry: { sockets: { ...zeroGauges(), SYN_RECV: 50_000 }, listeners },
    },
  ]);
  const now = summary.windowEnd;
  const model = new ClusterModel(3_600_000, 86_400_000, () => now);
  model.apply(summary);
  const table = topTable(listPods(model, null, PodListQuerySchema.parse({}), now), true);
  const instances = evaluateRule(
    "SynRecvBuildup",
    defaultRules(),
    { t: now, durationMs: 5000, entry: summary.pods[0] as (typeof summary.pods)[number] },
    new PodMemory(),
  );
  return { wide: /:(\d+) syn=/.exec(table)?.[1] ?? "", alert: instances?.[0]?.labels.port ?? "" };
}

describe("listener ranking", () => {
  it("puts a full SYN queue first, then the most half-open connections, then the fullest accept queue", () => {
    const full = l(9000, 5, 0, 5);
    const busiest = l(8080, 80, 0, 4096);
    const backedUp = l(7070, 0, 90, 100);
    const lessBackedUp = l(6060, 0, 90, 1000);
    expect(listenersUnderPressure([lessBackedUp, backedUp, busiest, full])).toEqual([
      full,
      busiest,
      backedUp,
      lessBackedUp,
    ]);
  });

  it("leaves out listeners with nothing queued, and never calls a queue of unknown limit full", () => {
    expect(listenersUnderPressure([l(80, 0, 0, 128), l(443, 1, 0, 0)])).toEqual([l(443, 1, 0, 0)]);
    expect(synQueueFull(l(443, 1, 0, 0))).toBe(false);
    expect(synQueueFull(l(443, 128, 0, 128))).toBe(true);
  });

  it("ranks the same whatever order the agent listed the listeners in", () => {
    const listeners = [l(8080, 3, 0, 128), l(9090, 3, 0, 128), l(7070, 3, 0, 128)];
    expect(listenersUnderPressure(listeners).map((x) => x.port)).toEqual([7070, 8080, 9090]);
    expect(listenersUnderPressure(listeners.reverse()).map((x) => x.port)).toEqual([7070, 8080, 9090]);
  });

  it("top -o wide and the alert name the same port where the old rankings differed", () => {
    // A full SYN queue of 5 beside a busier, roomier one: the query once showed :8080, the alert named 9000.
    expect(shownAndAlerted([l(8080, 80, 0, 4096), l(9000, 5, 0, 5)])).toEqual({
      wide: "9000",
      alert: "9000",
    });
    // Nothing queued anywhere: neither names a port (the alert once named the first listener).
    expect(shownAndAlerted([l(8080, 0, 0, 128)])).toEqual({ wide: "", alert: "" });
  });

  it("top -o wide and the alert name the same port for any listeners", () => {
    const listener = fc.record({
      address: fc.constantFrom("10.0.0.2", "0.0.0.0", "::"),
      port: fc.integer({ min: 1, max: 65535 }),
      acceptQueue: fc.integer({ min: 0, max: 200 }),
      backlog: fc.integer({ min: 0, max: 200 }),
      synQueue: fc.integer({ min: 0, max: 200 }),
    });
    fc.assert(
      fc.property(fc.array(listener, { maxLength: 8 }), (listeners) => {
        const { wide, alert } = shownAndAlerted(listeners);
        expect(wide).toBe(alert);
      }),
      { numRuns: 200 },
    );
  });
});
