import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { registerBuildInfo } from "../common/build-info.js";
import { COUNTER_NAMES } from "./wire/counters.js";
import { GAUGE_STATES } from "./wire/gauges.js";
import type { NodeSummary } from "./wire/summary.js";
import { ownerKey } from "./wire/summary.js";

/**
 * Every metric the agent exports, in one place. Its per-pod series are `tcpstate_agent_pod_*`: the collector owns
 * `tcpstate_pod_*` (cluster-wide names, `Kind/name` workloads, the node label, a bound on exported pods), so a
 * Prometheus scraping both never holds one name with two label sets.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly transitions = new Counter({
    name: "tcpstate_agent_pod_transitions_total",
    help: "TCP transitions per pod, by counter (active_opens, passive_opens, established, failed_connects, closes, resets, time_wait_entries)",
    labelNames: ["namespace", "pod", "workload", "transition"] as const,
    registers: [this.registry],
  });
  private readonly sockets = new Gauge({
    name: "tcpstate_agent_pod_sockets",
    help: 'TCP sockets of a pod per state now (SYN_RECV includes half-open request socks); estimated="true" where the gauge is an estimate',
    labelNames: ["namespace", "pod", "workload", "state", "estimated"] as const,
    registers: [this.registry],
  });
  private readonly listenOverflows = new Counter({
    name: "tcpstate_agent_pod_listen_overflows_total",
    help: "Connections dropped because a listener's accept queue was full (TcpExt ListenOverflows of the pod's netns)",
    labelNames: ["namespace", "pod", "workload"] as const,
    registers: [this.registry],
  });
  private readonly syncookiesSent = new Counter({
    name: "tcpstate_agent_pod_syncookies_sent_total",
    help: "SYN cookies sent because a listener's SYN queue was full (TcpExt SyncookiesSent of the pod's netns)",
    labelNames: ["namespace", "pod", "workload"] as const,
    registers: [this.registry],
  });
  readonly bpftraceUp = new Gauge({
    name: "tcpstate_agent_bpftrace_up",
    help: "1 while the counting bpftrace program has its probes attached",
    registers: [this.registry],
  });
  readonly bpftraceRestarts = new Counter({
    name: "tcpstate_agent_bpftrace_restarts_total",
    help: "Times bpftrace exited unexpectedly and was restarted",
    registers: [this.registry],
  });
  readonly parseErrors = new Counter({
    name: "tcpstate_agent_parse_errors_total",
    help: "bpftrace output lines the agent could not parse",
    registers: [this.registry],
  });
  private readonly kernelMissed = new Counter({
    name: "tcpstate_agent_kernel_missed_total",
    help: "Tracepoint program runs the kernel skipped (BPF recursion misses): counts are exact up to these",
    registers: [this.registry],
  });
  readonly incompleteWindows = new Counter({
    name: "tcpstate_agent_incomplete_windows_total",
    help: "Windows whose counts may be missing (bpftrace restarted, a flush was lost)",
    registers: [this.registry],
  });
  readonly attributedShare = new Gauge({
    name: "tcpstate_agent_attributed_ratio",
    help: "Share of the last window's transitions attributed to a pod",
    registers: [this.registry],
  });
  readonly podListSynced = new Gauge({
    name: "tcpstate_agent_pod_list_synced",
    help: "1 once the pods of this node have been listed from the kube API",
    registers: [this.registry],
  });
  readonly kubeApiErrors = new Counter({
    name: "tcpstate_agent_kube_api_errors_total",
    help: "Failed list/watch attempts against the kube API",
    registers: [this.registry],
  });
  readonly publishLatency = new Histogram({
    name: "tcpstate_agent_publish_latency_seconds",
    help: "Time from publishing a summary to JetStream's acknowledgement",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  private kernelMissedSeen = 0;
  private readonly seriesByOwner = new Map<string, { namespace: string; pod: string; workload: string }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "tcpstate_agent_" });
    registerBuildInfo(this.registry);
  }

  /** Adds a window's counts; series of owners that are no longer reported are removed. */
  observe(summary: NodeSummary): void {
    const seen = new Set<string>();
    for (const entry of summary.pods) {
      const key = ownerKey(entry.owner);
      const owner = entry.owner;
      const labels =
        owner.kind === "pod"
          ? { namespace: owner.namespace, pod: owner.name, workload: owner.workload?.name ?? "" }
          : { namespace: "", pod: owner.name, workload: "" };
      const previous = this.seriesByOwner.get(key);
      if (previous && (previous.pod !== labels.pod || previous.workload !== labels.workload))
        this.remove(previous);
      this.seriesByOwner.set(key, labels);
      seen.add(key);
      for (const transition of COUNTER_NAMES) {
        this.transitions.inc({ ...labels, transition }, entry.window[transition]);
      }
      if (entry.sockets) {
        for (const state of GAUGE_STATES) {
          const estimated = entry.estimated.includes(state);
          // One series per state: drop the variant of the other estimated value if the source changed.
          this.sockets.remove({ ...labels, state, estimated: String(!estimated) });
          this.sockets.set({ ...labels, state, estimated: String(estimated) }, entry.sockets[state]);
        }
      }
      if (entry.netnsCounters) {
        this.listenOverflows.inc(labels, entry.netnsCounters.listen_overflows);
        this.syncookiesSent.inc(labels, entry.netnsCounters.syncookies_sent);
      }
    }
    for (const [key, labels] of this.seriesByOwner) {
      if (seen.has(key)) continue;
      this.remove(labels);
      this.seriesByOwner.delete(key);
    }
    this.attributedShare.set(summary.health.attributedShare);
    this.kernelMissed.inc(summary.health.kernelMissed - this.kernelMissedSeen);
    this.kernelMissedSeen = summary.health.kernelMissed;
    this.podListSynced.set(summary.health.podListSynced ? 1 : 0);
    if (!summary.complete) this.incompleteWindows.inc();
  }

  /** bpftrace output lost (either program) and live events dropped by the rate limit, read at scrape time. */
  bindEventCounts(source: { lost(): number; dropped(): number }): void {
    const registers = [this.registry];
    new Counter({
      name: "tcpstate_agent_lost_events_total",
      help: 'Output events bpftrace reported lost ("Lost N events"); counts never depend on per-event delivery',
      registers,
      collect() {
        this.reset();
        this.inc(source.lost());
      },
    });
    new Counter({
      name: "tcpstate_agent_events_dropped_total",
      help: "Live transitions dropped by the per-event stream's rate limit (--events-per-second)",
      registers,
      collect() {
        this.reset();
        this.inc(source.dropped());
      },
    });
  }

  /** Publisher health, read at scrape time. */
  bindPublisher(p: {
    readonly buffered: number;
    readonly dropped: number;
    readonly squatted: number;
    readonly connected: boolean;
  }): void {
    const registers = [this.registry];
    new Gauge({
      name: "tcpstate_agent_publish_buffered_windows",
      help: "Summaries waiting to be published (NATS unreachable or slow)",
      registers,
      collect() {
        this.set(p.buffered);
      },
    });
    new Counter({
      name: "tcpstate_agent_publish_dropped_windows_total",
      help: "Summaries dropped, oldest first, because the buffer (--buffer-windows) was full",
      registers,
      collect() {
        this.reset();
        this.inc(p.dropped);
      },
    });
    new Counter({
      name: "tcpstate_agent_publish_taken_ids_total",
      help: "Windows whose message id another publisher had used first, sent again under a fresh id",
      registers,
      collect() {
        this.reset();
        this.inc(p.squatted);
      },
    });
    new Gauge({
      name: "tcpstate_agent_nats_connected",
      help: "1 while the agent is connected to NATS",
      registers,
      collect() {
        this.set(p.connected ? 1 : 0);
      },
    });
  }

  private remove(labels: { namespace: string; pod: string; workload: string }): void {
    for (const transition of COUNTER_NAMES) this.transitions.remove({ ...labels, transition });
    for (const state of GAUGE_STATES)
      for (const estimated of ["true", "false"]) this.sockets.remove({ ...labels, state, estimated });
    this.listenOverflows.remove(labels);
    this.syncookiesSent.remove(labels);
  }
}
