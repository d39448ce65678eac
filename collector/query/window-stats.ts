/** A pod's figures over a query window: what ranking, views and rollups read. */
import { type Counters, zeroCounters } from "../../agent/wire/counters.js";
import { churnOf } from "../model/churn.js";
import type { PodRecord } from "../model/pod-record.js";

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

/** The stats of counters observed over `coveredMs`. */
export function statsOf(counters: Counters, coveredMs: number): WindowStats {
  return {
    counters,
    coveredMs,
    churnPerSecond: churnOf(counters, coveredMs),
  };
}
