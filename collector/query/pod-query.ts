/** The pod questions the API answers: which pods were seen in a window, matching filters, idle or not, ranked. */
import { COUNTER_NAMES, type Counters } from "../../agent/wire/counters.js";
import { GAUGE_STATES } from "../../agent/wire/gauges.js";
import { namespaceOf, type PodEntry } from "../../agent/wire/summary.js";
import type { ClusterModel } from "../model/cluster-model.js";
import type { PodRecord } from "../model/pod-record.js";
import { type ActivitySum, emptyActivitySum } from "../model/recent-activity.js";
import type { PeerLookup } from "../peers/peer-directory.js";
import { PodRanking } from "./pod-ranking.js";
import { podSummary } from "./pod-views.js";
import type { PodListQuery } from "./query-params.js";
import { windowStats } from "./window-stats.js";

function matchesFilters(r: PodRecord, q: Pick<PodListQuery, "namespace" | "node" | "workload">): boolean {
  const o = r.latest.owner;
  if (q.node !== undefined && r.node !== q.node) return false;
  if (q.namespace !== undefined && (o.kind !== "pod" || o.namespace !== q.namespace)) return false;
  if (q.workload !== undefined) {
    if (o.kind !== "pod" || !o.workload) return false;
    const w = o.workload;
    if (q.workload !== w.name && q.workload !== `${w.kind}/${w.name}`) return false;
  }
  return true;
}

const anyTransition = (c: Counters) => COUNTER_NAMES.some((name) => c[name] > 0);

/** The newest entry holds something: a listener, or a socket in any state (null gauges hold nothing known). */
function holdsSockets(e: PodEntry): boolean {
  if (e.listeners.length > 0) return true;
  const s = e.sockets;
  return s !== null && GAUGE_STATES.some((state) => s[state] > 0);
}

/**
 * Nothing in the window: no transition of any kind in it, no socket in the newest gauges, no listener — a CNI
 * leftover, a bridge netns, a pod that does no networking. Decided from facts held per entry, cheapest first
 * (the newest entry, the lifetime total, the recent-activity buckets); only an entry that holds nothing now yet
 * once counted transitions, and opened nothing recently, has its window decoded (closes and resets are not in
 * the buckets). `sum` is scratch, reused.
 */
export function isIdle(r: PodRecord, since: number, now: number, sum: ActivitySum): boolean {
  if (holdsSockets(r.latest)) return false;
  if (!anyTransition(r.total)) return true;
  r.recent.sumSince(since, now, sum);
  // Buckets other than the partial one hold only windows that ended inside the window.
  if (sum.opens > sum.partialOpens || sum.failed > sum.partialFailed) return false;
  return !anyTransition(windowStats(r, since).counters);
}

/**
 * The pods seen in the window that match the filters, ranked by `sort`, the first `limit`; unless `idle=show`,
 * entries with nothing in the window are left out and counted (`hiddenIdle`). `ranking` owns the scratch the
 * ranking reuses (pod-ranking.ts): pass one kept by the caller where queries are frequent.
 */
export function listPods(
  model: ClusterModel,
  peers: PeerLookup | null,
  q: PodListQuery,
  now: number,
  ranking: PodRanking = new PodRanking(),
) {
  const since = now - q.window;
  const matched: PodRecord[] = [];
  const filtered = q.namespace !== undefined || q.node !== undefined || q.workload !== undefined;
  const sum = emptyActivitySum();
  let hiddenIdle = 0;
  for (const r of model.podRecords()) {
    if (r.lastSeen <= since || (filtered && !matchesFilters(r, q))) continue;
    if (q.idle === "hide" && isIdle(r, since, now, sum)) hiddenIdle++;
    else matched.push(r);
  }
  const ranked = ranking.rank(matched, q, since, now);
  return {
    window: { since, until: now, seconds: q.window / 1000 },
    sort: q.sort,
    matched: matched.length,
    /** Entries that matched but had nothing in the window, left out (idle=show lists them). */
    hiddenIdle,
    pods: ranked.map(({ r, stats }) => podSummary(r, stats, peers)),
  };
}

/** The newest record of pod `namespace/name` (a re-created pod keeps its name under a new UID). */
export function findPod(model: ClusterModel, namespace: string, name: string): PodRecord | undefined {
  let found: PodRecord | undefined;
  for (const r of model.podRecords()) {
    const o = r.latest.owner;
    if (namespaceOf(o) === namespace && o.name === name && (!found || r.lastSeen > found.lastSeen)) found = r;
  }
  return found;
}
