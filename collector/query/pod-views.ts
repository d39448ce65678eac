/** What the API shows of a pod: its summary in a list, its detail with series. */
import { addCounters, zeroCounters } from "../../agent/wire/counters.js";
import { type Destination, namespaceOf, workloadName } from "../../agent/wire/summary.js";
import { churnOf } from "../model/churn.js";
import { listenersUnderPressure } from "../model/listener-ranking.js";
import type { PodRecord } from "../model/pod-record.js";
import { type PeerLookup, peerName } from "../peers/peer-directory.js";
import { statsOf, type WindowStats } from "./window-stats.js";

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
