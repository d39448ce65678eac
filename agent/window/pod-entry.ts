import type { NetnsGauges } from "../gauges/netns-gauges.js";
import { addCounters, zeroCounters } from "../wire/counters.js";
import { addNetnsCounters, GAUGE_STATES, zeroGauges, zeroNetnsCounters } from "../wire/gauges.js";
import type { Counters, Destination, Owner, PodEntry } from "../wire/summary.js";

/** How many remote endpoints a pod's top lists keep (bounded cardinality). */
export const TOP_DESTINATIONS = 10;

/** A pod's entry while the netns it spans are added to it. */
export interface EntryParts {
  owner: Owner;
  netns: number[];
  window: Counters;
  gauges: NetnsGauges[];
  connects: Map<string, number>;
}

export function newEntryParts(owner: Owner): EntryParts {
  return { owner, netns: [], window: zeroCounters(), gauges: [], connects: new Map() };
}

export function addNetns(
  parts: EntryParts,
  inode: number | null,
  window: Counters,
  connects: ReadonlyMap<string, number> | undefined,
  gauges: NetnsGauges | undefined,
): void {
  if (inode !== null && !parts.netns.includes(inode)) {
    parts.netns.push(inode);
    if (gauges) parts.gauges.push(gauges);
  }
  addCounters(parts.window, window);
  for (const [endpoint, n] of connects ?? [])
    parts.connects.set(endpoint, (parts.connects.get(endpoint) ?? 0) + n);
}

/** The K largest of `counts`, largest first (ties by endpoint, so output is stable). */
export function topK(counts: ReadonlyMap<string, number>, k: number): Destination[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, k)
    .map(([endpoint, count]) => ({ endpoint, count }));
}

export function finishEntry(parts: EntryParts, total: Counters): PodEntry {
  const { gauges } = parts;
  let sockets: PodEntry["sockets"] = null;
  let netnsCounters: PodEntry["netnsCounters"] = null;
  const timeWait = new Map<string, number>();
  for (const g of gauges) {
    sockets ??= zeroGauges();
    for (const s of GAUGE_STATES) sockets[s] += g.sockets[s];
    if (g.counterDeltas) {
      netnsCounters ??= zeroNetnsCounters();
      addNetnsCounters(netnsCounters, g.counterDeltas);
    }
    for (const [endpoint, n] of g.timeWaitByPeer) timeWait.set(endpoint, (timeWait.get(endpoint) ?? 0) + n);
  }
  return {
    owner: parts.owner,
    netns: parts.netns,
    window: parts.window,
    total: { ...total },
    sockets,
    estimated: [...new Set(gauges.flatMap((g) => g.estimated ?? []))],
    listeners: gauges.flatMap((g) => g.listeners),
    netnsCounters,
    topDestinations: {
      connects: topK(parts.connects, TOP_DESTINATIONS),
      timeWait: topK(timeWait, TOP_DESTINATIONS),
    },
  };
}
