import { Counter, Gauge, type Registry } from "prom-client";
import { COUNTER_NAMES } from "../agent/wire/counters.js";
import { GAUGE_STATES } from "../agent/wire/gauges.js";
import { namespaceOf, workloadName } from "../agent/wire/summary.js";
import type { ClusterModel } from "./model/cluster-model.js";
import type { PodRecord } from "./model/pod-record.js";
import { churnPerSecond } from "./query/pod-query.js";

/** Pods whose newest window is older than this are gone (deleted, or their node is): their series go too. */
export const EXPORT_STALE_MS = 120_000;
export const OTHER_POD = "_other";

const POD_LABELS = ["namespace", "pod", "workload", "node"] as const;
type PodLabels = Record<(typeof POD_LABELS)[number], string>;

/** A pod's newest window churn. */
function latestChurn(r: PodRecord): number {
  const w = r.latest.window;
  return churnPerSecond(w.active_opens + w.passive_opens, r.latestWindowMs);
}

/**
 * The pods to export, the busiest first, and the labels each is exported under: past `maxPods`, pods are
 * summed into one `pod="_other"` series per namespace, so a cluster's size cannot blow up Prometheus.
 */
export function exportedPods(model: ClusterModel, maxPods: number, now: number) {
  const live = [...model.podRecords()].filter((r) => r.lastSeen > now - EXPORT_STALE_MS);
  live.sort((a, b) => latestChurn(b) - latestChurn(a) || (a.key < b.key ? -1 : 1));
  return live.map((r, i): { r: PodRecord; labels: PodLabels } => {
    const o = r.latest.owner;
    const namespace = namespaceOf(o);
    return i < maxPods
      ? { r, labels: { namespace, pod: o.name, workload: workloadName(o) ?? "", node: r.node } }
      : { r, labels: { namespace, pod: OTHER_POD, workload: "", node: "" } };
  });
}

/** Adds `value` to the series of `labels` (an `_other` series sums many pods). */
function add<L extends string>(
  g: Gauge<L> | Counter<L>,
  labels: Partial<Record<L, string>>,
  value: number,
): void {
  g.inc(labels, value);
}

/** The per-pod, per-workload and per-namespace series Prometheus scrapes from the collector. */
export function registerPodMetrics(
  registry: Registry,
  model: ClusterModel,
  opts: { maxPods: number; clock?: () => number },
): void {
  const registers = [registry];
  const now = opts.clock ?? Date.now;
  // One pass over the model per scrape: the first collect() computes, the others read its result.
  let snapshot: { at: number; pods: ReturnType<typeof exportedPods> } | undefined;
  const pods = () => {
    const t = now();
    if (!snapshot || t - snapshot.at > 1000) snapshot = { at: t, pods: exportedPods(model, opts.maxPods, t) };
    return snapshot.pods;
  };
  // Every series is recomputed at scrape time from the model: reset, then filled.
  const make =
    (Kind: typeof Gauge | typeof Counter) =>
    <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      fill: (m: Gauge<L> & Counter<L>) => void,
    ) =>
      new Kind<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          fill(this as Gauge<L> & Counter<L>);
        },
      });
  const gauge = make(Gauge);
  const counter = make(Counter);

  gauge(
    "tcpstate_pod_churn_per_second",
    "Connections opened per second in the pod's newest window",
    POD_LABELS,
    (g) => {
      for (const { r, labels } of pods()) add(g, labels, latestChurn(r));
    },
  );
  gauge(
    "tcpstate_pod_sockets",
    'Sockets per TCP state now (SYN_RECV includes half-open request socks); estimated="true" where estimated',
    [...POD_LABELS, "state", "estimated"],
    (g) => {
      for (const { r, labels } of pods()) {
        const s = r.latest.sockets;
        if (!s) continue;
        for (const state of GAUGE_STATES)
          add(g, { ...labels, state, estimated: String(r.latest.estimated.includes(state)) }, s[state]);
      }
    },
  );
  counter(
    "tcpstate_pod_transitions_total",
    "TCP transitions counted per pod since the collector's history of it begins (DESIGN.md, Counting)",
    [...POD_LABELS, "transition"],
    (c) => {
      for (const { r, labels } of pods())
        for (const transition of COUNTER_NAMES) add(c, { ...labels, transition }, r.total[transition]);
    },
  );
  for (const [name, key, help] of [
    ["tcpstate_pod_listen_overflows_total", "listen_overflows", "Accept queue overflows (ListenOverflows)"],
    ["tcpstate_pod_syncookies_sent_total", "syncookies_sent", "SYN cookies sent (SYN queue full)"],
    ["tcpstate_pod_req_q_full_drops_total", "req_q_full_drops", "SYNs dropped with the SYN queue full"],
  ] as const)
    counter(name, `${help} in the pod's network namespace`, POD_LABELS, (c) => {
      for (const { r, labels } of pods()) if (r.netnsTotal) add(c, labels, r.netnsTotal[key]);
    });
  for (const [name, key, help] of [
    ["tcpstate_pod_listener_syn_queue", "synQueue", "Half-open connections (SYN_RECV) on a listening port"],
    [
      "tcpstate_pod_listener_accept_queue",
      "acceptQueue",
      "Connections waiting for accept() on a listening port",
    ],
    ["tcpstate_pod_listener_backlog", "backlog", "Accept queue limit of a listening port"],
  ] as const)
    gauge(name, help, [...POD_LABELS, "port"], (g) => {
      for (const { r, labels } of pods())
        for (const l of r.latest.listeners) add(g, { ...labels, port: String(l.port) }, l[key]);
    });
  gauge(
    "tcpstate_pod_destination_time_wait",
    "TIME_WAIT sockets toward a remote ip:port (the pod's top destinations only)",
    [...POD_LABELS, "destination"],
    (g) => {
      for (const { r, labels } of pods())
        for (const d of r.latest.topDestinations.timeWait)
          add(g, { ...labels, destination: d.endpoint }, d.count);
    },
  );
  for (const level of ["namespace", "workload"] as const) {
    const labelNames =
      level === "namespace" ? (["namespace"] as const) : (["namespace", "workload"] as const);
    const keyOf = (r: PodRecord, labels: PodLabels) => {
      const workload = workloadName(r.latest.owner);
      if (r.latest.owner.kind !== "pod" || (level === "workload" && !workload)) return null;
      return level === "namespace"
        ? { namespace: labels.namespace }
        : { namespace: labels.namespace, workload: workload ?? "" };
    };
    gauge(
      `tcpstate_${level}_churn_per_second`,
      `Connections opened per second, summed per ${level}`,
      labelNames,
      (g) => {
        for (const { r, labels } of pods()) {
          const k = keyOf(r, labels);
          if (k) add(g, k, latestChurn(r));
        }
      },
    );
    gauge(
      `tcpstate_${level}_sockets`,
      `Sockets per TCP state now, summed per ${level}`,
      [...labelNames, "state"],
      (g) => {
        for (const { r, labels } of pods()) {
          const k = keyOf(r, labels);
          const s = r.latest.sockets;
          if (k && s) for (const state of GAUGE_STATES) add(g, { ...k, state }, s[state]);
        }
      },
    );
  }
}
