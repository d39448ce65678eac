import { addCounters, type Counters, zeroCounters } from "../../agent/wire/counters.js";
import { GAUGE_STATES, type SocketGauges, zeroGauges } from "../../agent/wire/gauges.js";
import type { PodRecord } from "./pod-record.js";

export const ROLLUP_LEVELS = ["workload", "namespace", "node"] as const;
export type RollupLevel = (typeof ROLLUP_LEVELS)[number];

export interface Rollup {
  key: string;
  namespace: string | null;
  workload: { kind: string; name: string } | null;
  node: string | null;
  pods: number;
  total: Counters;
  sockets: SocketGauges;
}

/** What a pod record rolls up into at `level`; null where it does not (a node's host entry has no namespace). */
function groupOf(r: PodRecord, level: RollupLevel): Omit<Rollup, "pods" | "total" | "sockets"> | null {
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

/** Totals and current gauges summed per workload, namespace or node. */
export function rollup(records: Iterable<PodRecord>, level: RollupLevel): Rollup[] {
  const out = new Map<string, Rollup>();
  for (const r of records) {
    const g = groupOf(r, level);
    if (!g) continue;
    let acc = out.get(g.key);
    if (!acc) {
      acc = { ...g, pods: 0, total: zeroCounters(), sockets: zeroGauges() };
      out.set(g.key, acc);
    }
    acc.pods++;
    addCounters(acc.total, r.total);
    const s = r.latest.sockets;
    if (s) for (const state of GAUGE_STATES) acc.sockets[state] += s[state];
  }
  return [...out.values()];
}
