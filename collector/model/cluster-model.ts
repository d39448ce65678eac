import type { NodeHealth, NodeSummary, Owner } from "../../agent/wire/summary.js";
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

export type ApplyResult = "applied" | "duplicate";

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

  constructor(
    private readonly historyMs: number,
    private readonly retentionMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  apply(summary: NodeSummary): ApplyResult {
    let boots = this.seen.get(summary.node);
    if (!boots) {
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

    for (const entry of summary.pods) {
      const key = recordKey(summary.node, entry.owner);
      let record = this.pods.get(key);
      if (!record) {
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
    for (const listener of this.listeners) listener(summary);
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

  /** Forgets pods whose newest window is older than the retention (their history has aged out). */
  expire(): void {
    const horizon = this.clock() - this.retentionMs;
    for (const [key, record] of this.pods) if (record.lastSeen < horizon) this.pods.delete(key);
    // A boot whose windows have all left the stream cannot be replayed any more.
    for (const boots of this.seen.values())
      for (const [boot, seqs] of boots) if (seqs.lastEnd < horizon) boots.delete(boot);
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

/** Pods are keyed by UID (cluster-wide unique); a node's host and unlabelled netns by node. */
export function recordKey(node: string, owner: Owner): string {
  return owner.kind === "pod" ? ownerKey(owner) : `${node}/${ownerKey(owner)}`;
}
