import type { NodeHealth, NodeSummary, Owner, PodEntry } from "../../agent/wire/summary.js";
import { ownerKey } from "../../agent/wire/summary.js";
import { PodRecord } from "./pod-record.js";
import { SeqTracker } from "./seq-tracker.js";

/** A node as the collector sees it. */
export interface NodeState {
  node: string;
  bootId: string;
  /** End of the newest window received. */
  lastSeen: number;
  /** How late the newest window arrived (ingest time − window end), ms. */
  lagMs: number;
  health: NodeHealth;
  windows: number;
  incompleteWindows: number;
}

export type ApplyResult = "applied" | "duplicate" | "shed";

/** Bounds of what the model tracks: past them, new nodes and pods are shed (counted), the tracked ones go on. */
export interface ModelLimits {
  maxNodes: number;
  maxPods: number;
}

/** Kubernetes' documented limits are 5,000 nodes and 150,000 pods; each node adds its host entry. */
export const DEFAULT_MODEL_LIMITS: ModelLimits = { maxNodes: 10_000, maxPods: 200_000 };

/**
 * The cluster-wide model: every node's windows applied once (by node, agent boot and window sequence: the same
 * id the agent publishes with), per-pod records and node health. Pods that disappear stay until their history
 * ages out.
 */
export class ClusterModel {
  private readonly pods = new Map<string, PodRecord>();
  private readonly nodes = new Map<string, NodeState>();
  /** node → agent boot → window seqs applied. */
  private readonly seen = new Map<string, Map<string, SeqTracker>>();
  private readonly listeners: ((summary: NodeSummary) => void)[] = [];
  /** Nodes and pods not tracked because the model was full. */
  readonly shed = { nodes: 0, pods: 0 };

  constructor(
    private readonly historyMs: number,
    private readonly retentionMs: number,
    private readonly clock: () => number = Date.now,
    private readonly limits: ModelLimits = DEFAULT_MODEL_LIMITS,
  ) {}

  apply(summary: NodeSummary): ApplyResult {
    let boots = this.seen.get(summary.node);
    if (!boots) {
      if (this.seen.size >= this.limits.maxNodes) {
        this.shed.nodes++;
        return "shed";
      }
      boots = new Map();
      this.seen.set(summary.node, boots);
    }
    let seqs = boots.get(summary.bootId);
    if (!seqs) {
      seqs = new SeqTracker();
      boots.set(summary.bootId, seqs);
    }
    if (seqs.has(summary.seq)) return "duplicate";
    seqs.add(summary.seq);
    seqs.lastEnd = Math.max(seqs.lastEnd, summary.windowEnd);

    // Entries of pods the model has no room for: the rest of the window is applied, and passed on without them.
    let shed: Set<PodEntry> | undefined;
    for (const entry of summary.pods) {
      const key = recordKey(summary.node, entry.owner);
      let record = this.pods.get(key);
      if (!record) {
        if (this.pods.size >= this.limits.maxPods) {
          this.shed.pods++;
          shed ??= new Set();
          shed.add(entry);
          continue;
        }
        record = new PodRecord(key, summary.node, entry);
        this.pods.set(key, record);
      }
      record.apply(
        entry,
        summary.windowStart,
        summary.windowEnd,
        summary.complete,
        this.historyMs,
        this.retentionMs,
      );
    }
    this.updateNode(summary);
    const applied = shed ? { ...summary, pods: summary.pods.filter((e) => !shed.has(e)) } : summary;
    for (const listener of this.listeners) listener(applied);
    return "applied";
  }

  /** Calls `listener` after each window is applied (once per window: duplicates are not passed on). */
  onApplied(listener: (summary: NodeSummary) => void): void {
    this.listeners.push(listener);
  }

  private updateNode(s: NodeSummary): void {
    const now = this.clock();
    const node = this.nodes.get(s.node);
    const newer = !node || s.windowEnd >= node.lastSeen;
    this.nodes.set(s.node, {
      node: s.node,
      bootId: newer ? s.bootId : (node?.bootId ?? s.bootId),
      lastSeen: newer ? s.windowEnd : (node?.lastSeen ?? s.windowEnd),
      lagMs: newer ? Math.max(0, now - s.windowEnd) : (node?.lagMs ?? 0),
      health: newer ? s.health : (node?.health ?? s.health),
      windows: (node?.windows ?? 0) + 1,
      incompleteWindows: (node?.incompleteWindows ?? 0) + (s.complete ? 0 : 1),
    });
  }

  /** Forgets pods and nodes whose newest window is older than the retention (their history has aged out). */
  expire(): void {
    const horizon = this.clock() - this.retentionMs;
    for (const [key, record] of this.pods) if (record.lastSeen < horizon) this.pods.delete(key);
    // A boot whose windows have all left the stream cannot be replayed any more.
    for (const [node, boots] of this.seen) {
      for (const [boot, seqs] of boots) if (seqs.lastEnd < horizon) boots.delete(boot);
      if (boots.size === 0) this.seen.delete(node);
    }
    for (const [node, state] of this.nodes) if (state.lastSeen < horizon) this.nodes.delete(node);
  }

  podRecords(): Iterable<PodRecord> {
    return this.pods.values();
  }

  nodeStates(): Iterable<NodeState> {
    return this.nodes.values();
  }

  get trackedPods(): number {
    return this.pods.size;
  }
}

/**
 * Every entry is keyed by its node too: a pod's UID is unique cluster-wide, but a summary is only its node's
 * word, so one node's summary can never rewrite another node's pods.
 */
export function recordKey(node: string, owner: Owner): string {
  return `${node}/${ownerKey(owner)}`;
}
