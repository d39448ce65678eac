import { COUNTER_NAMES, type Counters, zeroCounters } from "../agent/wire/counters.js";
import {
  addNetnsCounters,
  GAUGE_STATES,
  type GaugeState,
  type NetnsCounters,
  type SocketGauges,
  zeroGauges,
  zeroNetnsCounters,
} from "../agent/wire/gauges.js";
import { namespaceOf, workloadName } from "../agent/wire/summary.js";
import { familyHeader, labelValue, sampleValue } from "../common/prometheus-text.js";
import { churnOf } from "./model/churn.js";
import type { ClusterModel } from "./model/cluster-model.js";
import type { PodRecord } from "./model/pod-record.js";
import { topIndices } from "./query/top-k.js";

/** Pods whose newest window is older than this are gone (deleted, or their node is): their series go too. */
export const EXPORT_STALE_MS = 120_000;
export const OTHER_POD = "_other";
/**
 * Rows written between two turns of the event loop: a scrape of 5,000 exported pods is ~150,000 lines, and
 * the collector must go on ingesting while Prometheus reads them.
 */
const ROWS_PER_SLICE = 500;
/** Pods summed between two turns of the event loop. */
const PODS_PER_SLICE = 5000;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A pod's newest window churn. */
function latestChurn(r: PodRecord): number {
  return churnOf(r.latest.window, r.latestWindowMs);
}

/**
 * What the pods past the bound sum to, per namespace (`pod="_other"`): no count is lost by the guard. Their
 * top destinations are not summed: remote endpoints of thousands of pods would be the very cardinality the
 * guard is there to stop.
 */
interface OtherSum {
  churn: number;
  /** Socket states summed over the pods that count them exactly, and over those that estimate them. */
  exact: SocketGauges | null;
  estimated: Partial<SocketGauges> | null;
  total: Counters;
  netns: NetnsCounters | null;
  listeners: Map<number, { synQueue: number; acceptQueue: number; backlog: number }>;
}

/** One exported label set: a pod (the busiest `maxPods`), or a namespace's `_other` sum. */
type Row = { labels: string } & (
  | { pod: PodRecord; other?: undefined }
  | { pod?: undefined; other: OtherSum }
);

/** Namespace and workload rollups over every live pod. */
interface Rollup {
  labels: string;
  churn: number;
  sockets: SocketGauges | null;
}

const quoted = (name: string, value: string) => `${name}="${labelValue(value)}"`;

function podLabels(r: PodRecord): string {
  const o = r.latest.owner;
  return `${quoted("namespace", namespaceOf(o))},${quoted("pod", o.name)},${quoted("workload", workloadName(o) ?? "")},${quoted("node", r.node)}`;
}

function addToOther(sum: OtherSum, r: PodRecord, churn: number): void {
  const e = r.latest;
  sum.churn += churn;
  if (e.sockets)
    for (const state of GAUGE_STATES) {
      if (e.estimated.includes(state)) {
        sum.estimated ??= {};
        sum.estimated[state] = (sum.estimated[state] ?? 0) + e.sockets[state];
      } else {
        sum.exact ??= zeroGauges();
        sum.exact[state] += e.sockets[state];
      }
    }
  for (const name of COUNTER_NAMES) sum.total[name] += r.total[name];
  if (r.netnsTotal) {
    sum.netns ??= zeroNetnsCounters();
    addNetnsCounters(sum.netns, r.netnsTotal);
  }
  for (const l of e.listeners) {
    const port = sum.listeners.get(l.port) ?? { synQueue: 0, acceptQueue: 0, backlog: 0 };
    port.synQueue += l.synQueue;
    port.acceptQueue += l.acceptQueue;
    port.backlog += l.backlog;
    sum.listeners.set(l.port, port);
  }
}

/**
 * The rows to export, the busiest pods first, then one `_other` row per namespace summing the pods past
 * `maxPods` (so a cluster's size cannot blow up Prometheus); and the namespace and workload rollups.
 */
async function exportRows(model: ClusterModel, maxPods: number, now: number) {
  const live: PodRecord[] = [];
  for (const r of model.podRecords()) if (r.lastSeen > now - EXPORT_STALE_MS) live.push(r);
  const churn = new Float64Array(live.length);
  for (let i = 0; i < live.length; i++) churn[i] = latestChurn(live[i] as PodRecord);
  const top = topIndices(churn, maxPods);
  const exported = new Uint8Array(live.length);
  const rows: Row[] = [];
  for (const i of top) {
    exported[i] = 1;
    rows.push({ labels: podLabels(live[i] as PodRecord), pod: live[i] as PodRecord });
  }
  const others = new Map<string, OtherSum>();
  const rollups = { namespace: new Map<string, Rollup>(), workload: new Map<string, Rollup>() };
  const roll = (map: Map<string, Rollup>, key: string, labels: () => string, r: PodRecord, c: number) => {
    let acc = map.get(key);
    if (!acc) {
      acc = { labels: labels(), churn: 0, sockets: null };
      map.set(key, acc);
    }
    acc.churn += c;
    const s = r.latest.sockets;
    if (s) {
      acc.sockets ??= zeroGauges();
      for (const state of GAUGE_STATES) acc.sockets[state] += s[state];
    }
  };
  for (let i = 0; i < live.length; i++) {
    if ((i + 1) % PODS_PER_SLICE === 0) await nextTurn();
    const r = live[i] as PodRecord;
    const c = churn[i] as number;
    const o = r.latest.owner;
    const namespace = namespaceOf(o);
    if (!exported[i]) {
      let sum = others.get(namespace);
      if (!sum) {
        sum = {
          churn: 0,
          exact: null,
          estimated: null,
          total: zeroCounters(),
          netns: null,
          listeners: new Map(),
        };
        others.set(namespace, sum);
      }
      addToOther(sum, r, c);
    }
    if (o.kind !== "pod") continue;
    roll(rollups.namespace, namespace, () => quoted("namespace", namespace), r, c);
    const workload = workloadName(o);
    if (workload) {
      const labels = () => `${quoted("namespace", namespace)},${quoted("workload", workload)}`;
      roll(rollups.workload, `${namespace}\0${workload}`, labels, r, c);
    }
  }
  for (const [namespace, other] of others)
    rows.push({
      labels: `${quoted("namespace", namespace)},${quoted("pod", OTHER_POD)},workload="",node=""`,
      other,
    });
  return { rows, rollups };
}

interface PodFamily {
  name: string;
  help: string;
  type: "counter" | "gauge";
  /** Appends the row's samples (`name{labels…} value` lines) to `out`. */
  write(out: string[], name: string, row: Row): void;
}

const sample = (out: string[], name: string, labels: string, value: number) => {
  out.push(`${name}{${labels}} ${sampleValue(value)}\n`);
};

const POD_FAMILIES: PodFamily[] = [
  {
    name: "tcpstate_pod_churn_per_second",
    help: "Connections opened per second in the pod's newest window",
    type: "gauge",
    write: (out, name, row) =>
      sample(out, name, row.labels, row.pod ? latestChurn(row.pod) : row.other.churn),
  },
  {
    name: "tcpstate_pod_sockets",
    help: 'Sockets per TCP state now (SYN_RECV includes half-open request socks); estimated="true" where estimated',
    type: "gauge",
    write(out, name, row) {
      const state = (s: GaugeState, estimated: boolean) =>
        `${row.labels},state="${s}",estimated="${estimated}"`;
      if (row.pod) {
        const e = row.pod.latest;
        if (e.sockets)
          for (const s of GAUGE_STATES) sample(out, name, state(s, e.estimated.includes(s)), e.sockets[s]);
        return;
      }
      const { exact, estimated } = row.other;
      if (exact) for (const s of GAUGE_STATES) sample(out, name, state(s, false), exact[s]);
      if (estimated)
        for (const s of GAUGE_STATES)
          if (estimated[s] !== undefined) sample(out, name, state(s, true), estimated[s]);
    },
  },
  {
    name: "tcpstate_pod_transitions_total",
    help: "TCP transitions counted per pod since the collector's history of it begins",
    type: "counter",
    write(out, name, row) {
      const total = row.pod ? row.pod.total : row.other.total;
      for (const t of COUNTER_NAMES) sample(out, name, `${row.labels},transition="${t}"`, total[t]);
    },
  },
  ...(
    [
      ["tcpstate_pod_listen_overflows_total", "listen_overflows", "Accept queue overflows (ListenOverflows)"],
      ["tcpstate_pod_syncookies_sent_total", "syncookies_sent", "SYN cookies sent (SYN queue full)"],
      ["tcpstate_pod_req_q_full_drops_total", "req_q_full_drops", "SYNs dropped with the SYN queue full"],
    ] as const
  ).map(
    ([name, key, help]): PodFamily => ({
      name,
      help: `${help} in the pod's network namespace`,
      type: "counter",
      write(out, metric, row) {
        const netns = row.pod ? row.pod.netnsTotal : row.other.netns;
        if (netns) sample(out, metric, row.labels, netns[key]);
      },
    }),
  ),
  ...(
    [
      ["tcpstate_pod_listener_syn_queue", "synQueue", "Half-open connections (SYN_RECV) on a listening port"],
      [
        "tcpstate_pod_listener_accept_queue",
        "acceptQueue",
        "Connections waiting for accept() on a listening port",
      ],
      ["tcpstate_pod_listener_backlog", "backlog", "Accept queue limit of a listening port"],
    ] as const
  ).map(
    ([name, key, help]): PodFamily => ({
      name,
      help,
      type: "gauge",
      write(out, metric, row) {
        if (row.pod)
          for (const l of row.pod.latest.listeners)
            sample(out, metric, `${row.labels},port="${l.port}"`, l[key]);
        else
          for (const [port, l] of row.other.listeners)
            sample(out, metric, `${row.labels},port="${port}"`, l[key]);
      },
    }),
  ),
  {
    name: "tcpstate_pod_destination_time_wait",
    help: "TIME_WAIT sockets toward a remote ip:port (the pod's top destinations only)",
    type: "gauge",
    write(out, name, row) {
      if (row.pod)
        for (const d of row.pod.latest.topDestinations.timeWait)
          sample(out, name, `${row.labels},${quoted("destination", d.endpoint)}`, d.count);
    },
  },
];

function writeRollups(out: string[], level: "namespace" | "workload", rollups: Map<string, Rollup>): void {
  const churn = `tcpstate_${level}_churn_per_second`;
  out.push(familyHeader(churn, `Connections opened per second, summed per ${level}`, "gauge"));
  for (const r of rollups.values()) sample(out, churn, r.labels, r.churn);
  const sockets = `tcpstate_${level}_sockets`;
  out.push(familyHeader(sockets, `Sockets per TCP state now, summed per ${level}`, "gauge"));
  for (const r of rollups.values())
    if (r.sockets)
      for (const s of GAUGE_STATES) sample(out, sockets, `${r.labels},state="${s}"`, r.sockets[s]);
}

/**
 * The per-pod, per-workload and per-namespace series Prometheus scrapes from the collector, written as text
 * straight from the model: a registry's objects per series cost seconds per scrape at 50,000 pods. Chunks
 * come a slice of rows at a time, with a turn of the event loop between them, so ingest goes on meanwhile.
 */
export function podMetricsText(
  model: ClusterModel,
  opts: { maxPods: number; clock?: () => number },
): () => AsyncGenerator<string> {
  const now = opts.clock ?? Date.now;
  return async function* () {
    const { rows, rollups } = await exportRows(model, opts.maxPods, now());
    for (const family of POD_FAMILIES) {
      const out = [familyHeader(family.name, family.help, family.type)];
      for (let i = 0; i < rows.length; i++) {
        family.write(out, family.name, rows[i] as Row);
        if ((i + 1) % ROWS_PER_SLICE === 0) {
          yield out.join("");
          out.length = 0;
          await nextTurn();
        }
      }
      yield out.join("");
    }
    const out: string[] = [];
    writeRollups(out, "namespace", rollups.namespace);
    writeRollups(out, "workload", rollups.workload);
    yield out.join("");
  };
}
