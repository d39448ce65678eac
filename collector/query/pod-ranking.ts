/** Pods ranked over a window by a sort key: exact, decoding only the histories that can reach the top. */
import { churnPerSecond } from "../model/churn.js";
import type { PodRecord } from "../model/pod-record.js";
import { ACTIVITY_BUCKET_MS, ACTIVITY_HORIZON_MS, emptyActivitySum } from "../model/recent-activity.js";
import type { PodListQuery, SortKey } from "./query-params.js";
import { topIndices } from "./top-k.js";
import { type WindowStats, windowStats } from "./window-stats.js";

const GAUGE_OF: Partial<Record<SortKey, "TIME_WAIT" | "SYN_RECV" | "CLOSE_WAIT">> = {
  time_wait: "TIME_WAIT",
  syn_recv: "SYN_RECV",
  close_wait: "CLOSE_WAIT",
};

function exactKey(sort: SortKey, r: PodRecord, s: WindowStats): number {
  const gauge = GAUGE_OF[sort];
  if (gauge) return r.latest.sockets?.[gauge] ?? 0;
  return sort === "churn" ? s.churnPerSecond : s.counters.failed_connects;
}

function byName(a: PodRecord, b: PodRecord): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Past this many candidates per row asked, the likeliest ones by a pro-rata estimate are ranked exactly. */
const CANDIDATES_PER_ROW = 4;

/** A pod ranked, with its exact figures over the window. */
export interface RankedPod {
  r: PodRecord;
  stats: WindowStats;
}

/**
 * Ranks pods. Ranking by a gauge reads each pod's newest entry; ranking by churn or failed connects over a
 * window within the recent-activity horizon bounds each pod by its 30 s buckets and decodes only the histories
 * that can reach the top, so a query over 50,000 pods decodes dozens of histories, not 50,000. An instance owns
 * its per-pod bound arrays and reuses them from query to query (three arrays of 50,000 a query would only feed
 * the GC): keep one per caller that queries often.
 */
export class PodRanking {
  private scratch = { lower: new Float64Array(0), upper: new Float64Array(0), estimate: new Float64Array(0) };

  /** The first `q.limit` of `matched` by `q.sort` (reorders `matched`). */
  rank(matched: PodRecord[], q: PodListQuery, since: number, now: number): RankedPod[] {
    let candidates: PodRecord[];
    const gauge = GAUGE_OF[q.sort];
    if (gauge) {
      const value = (r: PodRecord) => r.latest.sockets?.[gauge] ?? 0;
      candidates = matched.sort((a, b) => value(b) - value(a) || byName(a, b)).slice(0, q.limit);
    } else if (q.window <= ACTIVITY_HORIZON_MS) candidates = this.candidates(matched, q, since, now);
    else candidates = matched;

    return candidates
      .map((r) => ({ r, stats: windowStats(r, since) }))
      .sort((a, b) => exactKey(q.sort, b.r, b.stats) - exactKey(q.sort, a.r, a.stats) || byName(a.r, b.r))
      .slice(0, q.limit);
  }

  private scratchFor(n: number) {
    if (this.scratch.lower.length < n) {
      const size = Math.ceil(n * 1.25);
      this.scratch = {
        lower: new Float64Array(size),
        upper: new Float64Array(size),
        estimate: new Float64Array(size),
      };
    }
    return {
      lower: this.scratch.lower.subarray(0, n),
      upper: this.scratch.upper.subarray(0, n),
      estimate: this.scratch.estimate.subarray(0, n),
    };
  }

  /**
   * Candidates for the top `limit` by churn or failed connects, from bucket sums: each pod's exact figure lies in
   * [lower, upper] (the bucket the window starts in may hold windows that ended before it); every pod whose upper
   * bound reaches the limit-th best lower bound is a candidate, so ranking the candidates exactly ranks exactly.
   * Where many pods churn alike the bounds overlap widely; then the pods first by an estimate (the partial
   * bucket taken pro rata) are ranked, 4 per row asked plus 40.
   */
  private candidates(matched: PodRecord[], q: PodListQuery, since: number, now: number): PodRecord[] {
    const sum = emptyActivitySum();
    const { lower, upper, estimate } = this.scratchFor(matched.length);
    // Share of the partial bucket that lies inside the window.
    const inside = 1 - (since % ACTIVITY_BUCKET_MS) / ACTIVITY_BUCKET_MS;
    matched.forEach((r, i) => {
      r.recent.sumSince(since, now, sum);
      if (q.sort === "failed_connects") {
        lower[i] = sum.failed - sum.partialFailed;
        upper[i] = sum.failed;
        estimate[i] = lower[i] + sum.partialFailed * inside;
      } else {
        lower[i] = churnPerSecond(sum.opens - sum.partialOpens, sum.coveredMs);
        const minCovered = sum.coveredMs - sum.partialCoveredMs;
        upper[i] = minCovered > 0 ? sum.opens / (minCovered / 1000) : sum.opens > 0 ? Infinity : 0;
        estimate[i] = churnPerSecond(
          sum.opens - sum.partialOpens * (1 - inside),
          sum.coveredMs - sum.partialCoveredMs * (1 - inside),
        );
      }
    });
    const kth = topIndices(lower, q.limit).at(-1);
    const bar = kth === undefined ? 0 : (lower[kth] as number);
    const out: number[] = [];
    for (let i = 0; i < matched.length; i++) if ((upper[i] as number) >= bar) out.push(i);
    const most = q.limit * CANDIDATES_PER_ROW + 40;
    const chosen = out.length <= most ? out : topIndices(estimate, most);
    return chosen.map((i) => matched[i] as PodRecord);
  }
}
