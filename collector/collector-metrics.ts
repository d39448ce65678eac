import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { registerBuildInfo } from "../common/build-info.js";
import type { ClusterModel } from "./model/cluster-model.js";

/** What the ingest has counted so far. */
export interface IngestCounts {
  readonly ingested: number;
  readonly duplicates: number;
  readonly pending: number;
  readonly deadLetters: ReadonlyMap<string, number>;
  /** Consumers started again after one ended, failed or stalled. */
  readonly restarts: number;
}

/** The collector's own health metrics, read at scrape time from the ingest and the model. */
export function collectorMetrics(ingest: IngestCounts, model: ClusterModel): Registry {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: "tcpstate_collector_" });
  registerBuildInfo(registry);
  new Counter({
    name: "tcpstate_collector_ingested_windows_total",
    help: "Node summaries applied to the model",
    registers,
    collect() {
      this.reset();
      this.inc(ingest.ingested);
    },
  });
  new Counter({
    name: "tcpstate_collector_duplicate_windows_total",
    help: "Node summaries received again (same node, agent boot and window) and not counted twice",
    registers,
    collect() {
      this.reset();
      this.inc(ingest.duplicates);
    },
  });
  new Counter({
    name: "tcpstate_collector_dead_letters_total",
    help: "Messages not applied (not a valid v1 summary of their subject's node, or failing to apply), moved to tcpstate.v1.deadletter, by reason",
    labelNames: ["reason"] as const,
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of ingest.deadLetters) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: "tcpstate_collector_consumer_restarts_total",
    help: "Summaries consumers started again after one ended, failed or stalled",
    registers,
    collect() {
      this.reset();
      this.inc(ingest.restarts);
    },
  });
  new Gauge({
    name: "tcpstate_collector_consumer_pending_messages",
    help: "Summaries in the stream not yet read by this collector (its lag)",
    registers,
    collect() {
      this.set(ingest.pending);
    },
  });
  new Counter({
    name: "tcpstate_collector_shed_total",
    help: "Nodes and pods not tracked because the model was at its bound (--max-nodes, --max-pods)",
    labelNames: ["what"] as const,
    registers,
    collect() {
      this.reset();
      this.inc({ what: "node" }, model.shed.nodes);
      this.inc({ what: "pod" }, model.shed.pods);
    },
  });
  new Gauge({
    name: "tcpstate_collector_tracked_pods",
    help: "Pods (and node host/netns entries) with history in memory",
    registers,
    collect() {
      this.set(model.trackedPods);
    },
  });
  new Gauge({
    name: "tcpstate_collector_node_lag_seconds",
    help: "How late each node's newest summary arrived",
    labelNames: ["node"] as const,
    registers,
    collect() {
      this.reset();
      for (const n of model.nodeStates()) this.set({ node: n.node }, n.lagMs / 1000);
    },
  });
  new Counter({
    name: "tcpstate_collector_node_gap_seconds_total",
    help: "Time no agent counted on each node between one agent's last window and the next one's first (rolls, crashes)",
    labelNames: ["node"] as const,
    registers,
    collect() {
      this.reset();
      for (const n of model.nodeStates()) this.inc({ node: n.node }, n.gapSeconds);
    },
  });
  new Counter({
    name: "tcpstate_collector_node_agent_restarts_total",
    help: "Agents of each node that followed another one (a new agent boot after the first)",
    labelNames: ["node"] as const,
    registers,
    collect() {
      this.reset();
      for (const n of model.nodeStates()) this.inc({ node: n.node }, n.agentRestarts);
    },
  });
  return registry;
}
