/**
 * The five rules' conditions, evaluated on one pod's window: pure functions of the rule, the window's entry and
 * the pod's memory (baselines, the previous CLOSE_WAIT, the last SYN-pressure time). Each yields the alert
 * instances it sees (one per pod, or one per destination) with their value and texts; null when the window
 * has no data for it (gauges unreadable), so the alert's state stays as it was.
 */
import type { PodEntry } from "../../agent/wire/summary.js";
import { churnOf } from "../model/churn.js";
import { listenersUnderPressure, synQueueFull } from "../model/listener-ranking.js";
import { Baseline } from "./baseline.js";
import type {
  BaselineRule,
  BuildupRule,
  FloorRule,
  PortPressureRule,
  RuleName,
  RulesConfig,
  TimeWaitRule,
} from "./rules-file.js";

/** How long after the last listen overflow / SYN cookie / SYN-queue drop SYN pressure still counts. */
export const SYN_PRESSURE_HOLD_MS = 30_000;

export interface WindowSample {
  /** Data time: the window's end (ms). */
  t: number;
  durationMs: number;
  entry: PodEntry;
}

/** What a pod's evaluation remembers between windows. */
export class PodMemory {
  readonly baselines = new Map<RuleName, Baseline>();
  lastCloseWait: number | null = null;
  lastSynPressureAt = Number.NEGATIVE_INFINITY;
  synPressure = { listenOverflows: 0, syncookiesSent: 0, reqQFullDrops: 0 };

  baseline(rule: RuleName, windowMs: number): Baseline {
    let b = this.baselines.get(rule);
    if (!b || b.windowMs !== windowMs) {
      b = new Baseline(windowMs);
      this.baselines.set(rule, b);
    }
    return b;
  }
}

export interface Instance {
  /** Tells instances of one rule on one pod apart ("" when there is one, else the destination). */
  key: string;
  active: boolean;
  value: number;
  labels: Record<string, string>;
  /** The annotations' texts: built only for alerts that exist (most windows need none). */
  texts(): { summary: string; description: string };
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1));

function describeBaseline(b: number | null, factor: number): string {
  return b === null
    ? "no baseline yet (the floor alone decides)"
    : `baseline ${fmt(b)} (trailing median), ${factor}× = ${fmt(b * factor)}`;
}

/** value ≥ floor and ≥ factor × baseline (no baseline yet: the floor alone). */
export function aboveBaseline(value: number, rule: BaselineRule, baseline: number | null): boolean {
  return value >= rule.floor && (baseline === null || value >= rule.factor * baseline);
}

/**
 * Whether a level that builds up is alarming: at a dangerous level whatever the history; with a baseline (the
 * pod's quiet level, once it has enough history), ≥ floor and ≥ factor × baseline; without one, ≥ the cold-start
 * floor, so a buildup present when tcpstate starts watching fires instead of becoming the pod's normal. Neither
 * level goes below the floor (a raised floor over the default cold-start floor).
 */
export function buildupActive(
  value: number,
  rule: BuildupRule,
  quiet: number | null,
  dangerous: boolean,
): boolean {
  if (dangerous) return true;
  return quiet === null ? value >= coldStartLevel(rule) : aboveBaseline(value, rule, quiet);
}

const coldStartLevel = (rule: BuildupRule) => Math.max(rule.floor, rule.coldStartFloor);
const dangerLevel = (rule: TimeWaitRule) => Math.max(rule.floor, rule.dangerLevel);

function describeQuiet(quiet: number | null, rule: BuildupRule): string {
  return quiet === null
    ? `no baseline yet (under half of ${rule.baselineWindowMs / 1000}s of history): the cold-start floor ${coldStartLevel(rule)} decides`
    : `baseline ${fmt(quiet)} (quiet level: 10th percentile over ${rule.baselineWindowMs / 1000}s), ${rule.factor}× = ${fmt(quiet * rule.factor)}`;
}

function timeWaitBuildup(rule: TimeWaitRule, s: WindowSample, m: PodMemory): Instance[] | null {
  const tw = s.entry.sockets?.TIME_WAIT;
  if (tw === undefined) return null;
  const b = m.baseline("TimeWaitBuildup", rule.baselineWindowMs);
  const quiet = b.quietLevel(s.t);
  b.add(s.t, tw, s.durationMs);
  const dangerous = tw >= dangerLevel(rule);
  const estimated = s.entry.estimated.includes("TIME_WAIT") ? " (estimated: hostNetwork pod)" : "";
  return [
    {
      key: "",
      active: buildupActive(tw, rule, quiet, dangerous),
      value: tw,
      labels: {},
      texts: () => ({
        summary: dangerous
          ? `${tw} TIME_WAIT sockets, at or above the danger level of ${dangerLevel(rule)}`
          : quiet === null
            ? `${tw} TIME_WAIT sockets, above the cold-start floor of ${coldStartLevel(rule)}`
            : `${tw} TIME_WAIT sockets, above the floor of ${rule.floor} and ${rule.factor}× its baseline`,
        description: `TIME_WAIT ${tw}${estimated}; floor ${rule.floor}; danger level ${dangerLevel(rule)}; ${describeQuiet(quiet, rule)}.`,
      }),
    },
  ];
}

function synRecvBuildup(rule: BuildupRule, s: WindowSample, m: PodMemory): Instance[] | null {
  const c = s.entry.netnsCounters;
  if (c && (c.listen_overflows > 0 || c.syncookies_sent > 0 || c.req_q_full_drops > 0)) {
    m.lastSynPressureAt = s.t;
    m.synPressure = {
      listenOverflows: c.listen_overflows,
      syncookiesSent: c.syncookies_sent,
      reqQFullDrops: c.req_q_full_drops,
    };
  }
  const synRecv = s.entry.sockets?.SYN_RECV;
  if (synRecv === undefined) return null;
  const b = m.baseline("SynRecvBuildup", rule.baselineWindowMs);
  const quiet = b.quietLevel(s.t);
  b.add(s.t, synRecv, s.durationMs);
  const pressure = s.t - m.lastSynPressureAt <= SYN_PRESSURE_HOLD_MS;
  const listener = listenersUnderPressure(s.entry.listeners)[0];
  const full = listener !== undefined && synQueueFull(listener);
  const port = listener ? String(listener.port) : "";
  const p = m.synPressure;
  return [
    {
      key: "",
      active: buildupActive(synRecv, rule, quiet, full) || pressure,
      value: synRecv,
      labels: { port },
      texts: () => {
        const counters = pressure
          ? ` Listen overflows ${p.listenOverflows}, SYN cookies sent ${p.syncookiesSent}, SYN-queue drops ${p.reqQFullDrops} in the window of ${new Date(m.lastSynPressureAt).toISOString()}.`
          : "";
        return {
          summary: `${synRecv} half-open (SYN_RECV) connections${port ? ` on port ${port}` : ""}${full ? ", its SYN queue at its backlog" : ""}${pressure ? ", SYNs dropped or answered with cookies" : ""}`,
          description: `SYN_RECV ${synRecv}${listener ? ` (port ${port}: SYN queue ${listener.synQueue}, accept queue ${listener.acceptQueue}/${listener.backlog})` : ""}; floor ${rule.floor}; ${describeQuiet(quiet, rule)}.${counters}`,
        };
      },
    },
  ];
}

function ephemeralPortPressure(rule: PortPressureRule, s: WindowSample): Instance[] | null {
  if (!s.entry.sockets) return null;
  const size = rule.portRange.high - rule.portRange.low + 1;
  const threshold = rule.ratio * size;
  return s.entry.topDestinations.timeWait.map((d) => ({
    key: d.endpoint,
    active: d.count >= threshold,
    value: d.count,
    labels: { destination: d.endpoint },
    texts: () => ({
      summary: `${d.count} TIME_WAIT sockets toward ${d.endpoint}: ${fmt((100 * d.count) / size)}% of the ephemeral port range`,
      description: `TIME_WAIT toward ${d.endpoint} ${d.count} of ${size} ports (${rule.portRange.low}-${rule.portRange.high}); threshold ${rule.ratio} × ${size} = ${fmt(threshold)}. ESTABLISHED connections toward it are not counted (not on the wire yet).`,
    }),
  }));
}

function connectionChurnSpike(rule: BaselineRule, s: WindowSample, m: PodMemory): Instance[] | null {
  if (s.durationMs <= 0) return null;
  const churn = churnOf(s.entry.window, s.durationMs);
  const b = m.baseline("ConnectionChurnSpike", rule.baselineWindowMs);
  const baseline = b.median(s.t);
  b.add(s.t, churn, s.durationMs);
  return [
    {
      key: "",
      active: aboveBaseline(churn, rule, baseline),
      value: churn,
      labels: {},
      texts: () => ({
        summary: `${fmt(churn)} new connections/s, above the floor of ${rule.floor}/s and ${rule.factor}× its baseline`,
        description: `churn ${fmt(churn)}/s (active opens ${s.entry.window.active_opens}, passive opens ${s.entry.window.passive_opens} in ${s.durationMs / 1000}s); floor ${rule.floor}/s; ${describeBaseline(baseline, rule.factor)} over ${rule.baselineWindowMs / 1000}s.`,
      }),
    },
  ];
}

function closeWaitLeak(rule: FloorRule, s: WindowSample, m: PodMemory): Instance[] | null {
  const cw = s.entry.sockets?.CLOSE_WAIT;
  if (cw === undefined) return null;
  const previous = m.lastCloseWait;
  m.lastCloseWait = cw;
  return [
    {
      key: "",
      active: cw >= rule.floor && (previous === null || cw >= previous),
      value: cw,
      labels: {},
      texts: () => ({
        summary: `${cw} CLOSE_WAIT sockets and not decreasing: the application does not close connections its peers closed`,
        description: `CLOSE_WAIT ${cw} (previous window ${previous ?? "none"}); floor ${rule.floor}; never decreasing for ${rule.forMs / 1000}s fires.`,
      }),
    },
  ];
}

/** Evaluates rule `name` on one window of one pod. */
export function evaluateRule(
  name: RuleName,
  rules: RulesConfig,
  s: WindowSample,
  m: PodMemory,
): Instance[] | null {
  switch (name) {
    case "TimeWaitBuildup":
      return timeWaitBuildup(rules.TimeWaitBuildup, s, m);
    case "SynRecvBuildup":
      return synRecvBuildup(rules.SynRecvBuildup, s, m);
    case "EphemeralPortPressure":
      return ephemeralPortPressure(rules.EphemeralPortPressure, s);
    case "ConnectionChurnSpike":
      return connectionChurnSpike(rules.ConnectionChurnSpike, s, m);
    case "CloseWaitLeak":
      return closeWaitLeak(rules.CloseWaitLeak, s, m);
    default: {
      const never: never = name;
      throw new Error(`unknown rule ${never}`);
    }
  }
}
