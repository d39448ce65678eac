/**
 * Ranking picks the pods a full sort of every pod's exact figures picks, though it decodes only the histories
 * that can reach the top; one ranker reused over sets of any size (its scratch grows and is reused) answers
 * like a fresh one.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { zeroGauges } from "../../../agent/wire/gauges.js";
import { ClusterModel } from "../../../collector/model/cluster-model.js";
import type { PodRecord } from "../../../collector/model/pod-record.js";
import { PodRanking } from "../../../collector/query/pod-ranking.js";
import { PodListQuerySchema } from "../../../collector/query/query-params.js";
import { windowStats } from "../../../collector/query/window-stats.js";
import { podOwner, TEST_EPOCH, testSummary } from "../../support/summaries.js";

const SORTS = ["churn", "failed_connects", "time_wait"] as const;

/** pods[p][w]: what pod p did in window w (null: not seen in it). */
type Activity = ({ opens: number; failed: number; timeWait: number } | null)[][];

function modelOf(activity: Activity): { model: ClusterModel; now: number } {
  const windows = Math.max(...activity.map((a) => a.length));
  const now = TEST_EPOCH + windows * 5000;
  const model = new ClusterModel(3_600_000, 86_400_000, () => now);
  for (let seq = 0; seq < windows; seq++) {
    const pods = activity.flatMap((a, p) => {
      const w = a[seq];
      if (!w) return [];
      return [
        {
          owner: podOwner(`uid-${p}`, `pod-${p}`),
          window: { active_opens: w.opens, failed_connects: w.failed },
          entry: { sockets: { ...zeroGauges(), TIME_WAIT: w.timeWait } },
        },
      ];
    });
    model.apply(testSummary("node-1", seq, pods));
  }
  return { model, now };
}

/** Test oracle: every pod's exact figures over the window, fully sorted (what the ranking must equal). */
function fullSort(
  records: PodRecord[],
  sort: (typeof SORTS)[number],
  since: number,
  limit: number,
): string[] {
  const key = (r: PodRecord) => {
    const s = windowStats(r, since);
    if (sort === "time_wait") return r.latest.sockets?.TIME_WAIT ?? 0;
    return sort === "churn" ? s.churnPerSecond : s.counters.failed_connects;
  };
  return records
    .map((r) => ({ r, k: key(r) }))
    .sort((a, b) => b.k - a.k || (a.r.key < b.r.key ? -1 : a.r.key > b.r.key ? 1 : 0))
    .slice(0, limit)
    .map(({ r }) => r.key);
}

const windowActivity = fc.option(
  fc.record({
    opens: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 })),
    failed: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5 })),
    timeWait: fc.integer({ min: 0, max: 30 }),
  }),
  { freq: 4 },
);

describe("PodRanking", () => {
  it("ranks like a full sort of the exact figures, one ranker reused over sets of every size", () => {
    const reused = new PodRanking();
    fc.assert(
      fc.property(
        fc.array(fc.array(windowActivity, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(...SORTS),
        fc.constantFrom("45s", "1m", "2m30s", "3h"),
        fc.integer({ min: 1, max: 12 }),
        (activity, sort, window, limit) => {
          const { model, now } = modelOf(activity);
          const q = PodListQuerySchema.parse({ sort, window, limit: String(limit) });
          const since = now - q.window;
          const seen = [...model.podRecords()].filter((r) => r.lastSeen > since);
          const expected = fullSort(seen, sort, since, limit);
          const keys = (ranking: PodRanking) => ranking.rank([...seen], q, since, now).map(({ r }) => r.key);
          expect(keys(reused)).toEqual(expected);
          expect(keys(new PodRanking())).toEqual(expected);
        },
      ),
      { numRuns: 80 },
    );
  });

  it("gives each ranked pod its exact figures over the window", () => {
    const { model, now } = modelOf([
      Array.from({ length: 24 }, () => ({ opens: 5, failed: 1, timeWait: 2 })),
      Array.from({ length: 24 }, () => ({ opens: 1, failed: 0, timeWait: 9 })),
    ]);
    const q = PodListQuerySchema.parse({ sort: "churn", window: "1m", limit: "2" });
    const ranked = new PodRanking().rank([...model.podRecords()], q, now - q.window, now);
    expect(
      ranked.map(({ r, stats }) => [r.latest.owner.name, stats.counters.active_opens, stats.churnPerSecond]),
    ).toEqual([
      ["pod-0", 60, 1],
      ["pod-1", 12, 0.2],
    ]);
  });
});
