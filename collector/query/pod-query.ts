/** The pod questions the API answers: who churns, who holds what, over a window, ranked. */
import { addCounters, COUNTER_NAMES, type Counters, zeroCounters } from "../../agent/wire/counters.js";
import { GAUGE_STATES } from "../../agent/wire/gauges.js";
import { type Destination, namespaceOf, type PodEntry, workloadName } from "../../agent/wire/summary.js";
import { churnOf, churnPerSecond } from "../model/churn.js";
import type { ClusterModel } from "../model/cluster-model.js";
import { listenersUnderPressure } from "../model/listener-ranking.js";
import type { PodRecord } from "../model/pod-record.js";
import {
  ACTIVITY_BUCKET_MS,
  ACTIVITY_HORIZON_MS,
  type ActivitySum,
  emptyActivitySum,
} from "../model/recent-activity.js";
import { type PeerLookup, peerName } from "../peers/peer-directory.js";
import type { PodListQuery, SortKey } from "./query-params.js";
import { topIndices } from "./top-k.js";

/** Counters over a window and the time the pod was observed in it. */
export interface WindowStats {
  counters: Counters;
  coveredMs: number;
  churnPerSecond: number;
}

/** Exact counters of the windows that ended after `since` (decodes only the runs that reach past it). */
export function windowStats(r: PodRecord, since: number): WindowStats {
  const counters = zeroCounters();
  return statsOf(counters, r.sumSince(since, counters));
}

function statsOf(counters: Counters, coveredMs: number): WindowStats {
  return {
    counters,
    coveredMs,
    churnPerSecond: churnOf(counters, coveredMs),
  };
}

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

function named(peers: PeerLookup | null, list: readonly Destination[]) {
  return list.map((d) => {
    const p = peers ? peerName(peers, d.endpoint) : null;
    return { endpoint: d.endpoint, count: d.count, peer: p?.peer ?? null, peerKind: p?.kind ?? null };
  });
}

/** One pod over a window, as /api/v1/pods lists it. */
export function podSummary(r: PodRecord, stats: WindowStats, peers: PeerLookup | null) {
  const e = r.latest;
  const o = e.owner;
  return {
    namespace: namespaceOf(o),
    name: o.name,
    kind: o.kind,
    uid: o.kind === "pod" ? o.uid : null,
    node: r.node,
    workload: workloadName(o),
    hostNetwork: o.kind === "pod" ? o.hostNetwork : false,
    lastSeen: r.lastSeen,
    churnPerSecond: stats.churnPerSecond,
    coveredSeconds: stats.coveredMs / 1000,
    counters: stats.counters,
    total: r.total,
    sockets: e.sockets,
    estimated: e.estimated,
    listenersUnderPressure: listenersUnderPressure(e.listeners),
    netnsCounters: e.netnsCounters,
    topDestinations: {
      connects: named(peers, e.topDestinations.connects),
      timeWait: named(peers, e.topDestinations.timeWait),
    },
  };
}
export type PodSummary = ReturnType<typeof podSummary>;

/** One pod in full: the summary, every listener, its totals and its series at the stored resolution. */
export function podDetail(r: PodRecord, since: number, peers: PeerLookup | null) {
  const points = r.pointsSince(since);
  // The window's figures from the points already decoded for the series (not a second decode).
  const counters = zeroCounters();
  let coveredMs = 0;
  for (const p of points) {
    addCounters(counters, p.window);
    coveredMs += p.windowEnd - p.windowStart;
  }
  return {
    ...podSummary(r, statsOf(counters, coveredMs), peers),
    listeners: r.latest.listeners,
    series: points.map((p) => ({
      windowStart: p.windowStart,
      windowEnd: p.windowEnd,
      complete: p.complete,
      counters: p.window,
      churnPerSecond: churnOf(p.window, p.windowEnd - p.windowStart),
      sockets: p.sockets,
    })),
  };
}

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

/** Per-pod bounds, reused from query to query (three arrays of 50,000 a query would only feed the GC). */
let scratch = { lower: new Float64Array(0), upper: new Float64Array(0), estimate: new Float64Array(0) };
function scratchFor(n: number) {
  if (scratch.lower.length < n) {
    const size = Math.ceil(n * 1.25);
    scratch = {
      lower: new Float64Array(size),
      upper: new Float64Array(size),
      estimate: new Float64Array(size),
    };
  }
  return {
    lower: scratch.lower.subarray(0, n),
    upper: scratch.upper.subarray(0, n),
    estimate: scratch.estimate.subarray(0, n),
  };
}

/**
 * Candidates for the top `limit` by churn or failed connects, from bucket sums: each pod's exact figure lies in
 * [lower, upper] (the bucket the window starts in may hold windows that ended before it); every pod whose upper
 * bound reaches the limit-th best lower bound is a candidate, so ranking the candidates exactly ranks exactly.
 * Where many pods churn alike the bounds overlap widely; then the pods first by an estimate (the partial
 * bucket taken pro rata) are ranked, 4 per row asked plus 40.
 */
function rankingCandidates(matched: PodRecord[], q: PodListQuery, since: number, now: number): PodRecord[] {
  const sum = emptyActivitySum();
  const { lower, upper, estimate } = scratchFor(matched.length);
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

/**
 * The pods seen in the window that match the filters, ranked by `sort`, the first `limit`; unless `idle=show`,
 * entries with nothing in the window are left out and counted (`hiddenIdle`). Ranking by a gauge
 * reads each pod's newest entry; ranking by churn or failed connects over a window within the recent-activity
 * horizon bounds each pod by its 30 s buckets and decodes only the histories that can reach the top, so a query
 * over 50,000 pods decodes dozens of histories, not 50,000.
 */
export function listPods(model: ClusterModel, peers: PeerLookup | null, q: PodListQuery, now: number) {
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

  let candidates: PodRecord[];
  const gauge = GAUGE_OF[q.sort];
  if (gauge) {
    const value = (r: PodRecord) => r.latest.sockets?.[gauge] ?? 0;
    candidates = matched.sort((a, b) => value(b) - value(a) || byName(a, b)).slice(0, q.limit);
  } else if (q.window <= ACTIVITY_HORIZON_MS) candidates = rankingCandidates(matched, q, since, now);
  else candidates = matched;

  const ranked = candidates
    .map((r) => ({ r, stats: windowStats(r, since) }))
    .sort((a, b) => exactKey(q.sort, b.r, b.stats) - exactKey(q.sort, a.r, a.stats) || byName(a.r, b.r))
    .slice(0, q.limit);
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
