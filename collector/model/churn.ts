/** Churn, said once for the query, the alerts, the metrics and the CLI (docs/design.md, "Counting"). */
import type { Counters } from "../../agent/wire/counters.js";

/** Connections opened: actively (connect) and passively (accept). What churn counts. */
export function opens(c: Pick<Counters, "active_opens" | "passive_opens">): number {
  return c.active_opens + c.passive_opens;
}

/** Churn = connections opened per second of observed time; 0 when nothing was observed. */
export function churnPerSecond(opened: number, coveredMs: number): number {
  return coveredMs > 0 ? opened / (coveredMs / 1000) : 0;
}

/** The churn of counters observed over `coveredMs`. */
export function churnOf(c: Pick<Counters, "active_opens" | "passive_opens">, coveredMs: number): number {
  return churnPerSecond(opens(c), coveredMs);
}
