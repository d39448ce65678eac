import { addCounters, type Counters, zeroCounters } from "../../agent/wire/counters.js";
import { GAUGE_STATES, type SocketGauges, zeroGauges } from "../../agent/wire/gauges.js";
import type { PodRecord } from "../model/pod-record.js";
import { windowStats } from "./window-stats.js";

export const ROLLUP_LEVELS = ["workload", "namespace", "node"] as const;
export type RollupLevel = (typeof ROLLUP_LEVELS)[number];

export interface Rollup {
  key: string;
  namespace: string | null;
  workload: { kind: string; name: string } | null;
  node: string | null;
  pods: number;
  /** Sum of the pods' churn over the window. */
  churnPerSecond: number;
  /** Counters over the window. */
  counters: Counters;
  /** Counters since the collector first saw each pod. */
  total: Counters;
  sockets: SocketGauges;
}

/** What a pod record rolls up into at `level`; null where it does not (a node's host entry has no namespace). */
function groupOf(
  r: PodRecord,
  level: RollupLevel,
): Pick<Rollup, "key" | "namespace" | "workload" | "node"> | null {
  const o = r.latest.owner;
  switch (level) {
    case "node":
      return { key: r.node, namespace: null, workload: null, node: r.node };
    case "namespace":
      return o.kind === "pod"
        ? { key: o.namespace, namespace: o.namespace, workload: null, node: null }
        : null;
    case "workload":
      return o.kind === "pod" && o.workload
        ? {
            key: `${o.namespace}/${o.workload.kind}/${o.workload.name}`,
            namespace: o.namespace,
            workload: o.workload,
            node: null,
          }
        : null;
    default:
      return level satisfies never;
  }
}

/**
 * Churn, counters over the window, totals and current gauges summed per workload, namespace or node, over the
 * pods seen since `since` (only `namespace`'s when given); the busiest first.
 */
export function rollup(
  records: Iterable<PodRecord>,
  level: RollupLevel,
  since: number,
  namespace?: string,
): Rollup[] {
  const out = new Map<string, Rollup>();
  for (const r of records) {
    if (r.lastSeen <= since) continue;
    const g = groupOf(r, level);
    // Before the window's counters are decoded: other namespaces' pods cost nothing.
    if (!g || (namespace !== undefined && g.namespace !== namespace)) continue;
    let acc = out.get(g.key);
    if (!acc) {
      const zero = {
        churnPerSecond: 0,
        counters: zeroCounters(),
        total: zeroCounters(),
        sockets: zeroGauges(),
      };
      acc = { ...g, pods: 0, ...zero };
      out.set(g.key, acc);
    }
    const stats = windowStats(r, since);
    acc.pods++;
    acc.churnPerSecond += stats.churnPerSecond;
    addCounters(acc.counters, stats.counters);
    addCounters(acc.total, r.total);
    const s = r.latest.sockets;
    if (s) for (const state of GAUGE_STATES) acc.sockets[state] += s[state];
  }
  return [...out.values()].sort((a, b) => b.churnPerSecond - a.churnPerSecond || (a.key < b.key ? -1 : 1));
}
