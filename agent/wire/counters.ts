/** The per-pod counters every part of tcpstate uses (which transition counts as which: docs/design.md, "Counting"; in code, classifyTransition in agent/probe/transition.ts). */
export const COUNTER_NAMES = [
  "active_opens",
  "passive_opens",
  "established",
  "failed_connects",
  "closes",
  "resets",
  "time_wait_entries",
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counters = Record<CounterName, number>;

export function zeroCounters(): Counters {
  return {
    active_opens: 0,
    passive_opens: 0,
    established: 0,
    failed_connects: 0,
    closes: 0,
    resets: 0,
    time_wait_entries: 0,
  };
}

export function addCounters(into: Counters, from: Counters): void {
  for (const name of COUNTER_NAMES) into[name] += from[name];
}
