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
  /** Agents of this node that followed another (a roll, a crash): each one's first window is a new boot. */
  agentRestarts: number;
  /** Time no agent counted between one agent's last window and the next one's first, summed (s). */
  gapSeconds: number;
  /** The newest such gap (s) and when the agent after it started (its first window's start); null: none yet. */
  lastGap: { seconds: number; at: number } | null;
  /** The newest incomplete window: when it ended and the agent's reasons (a restart, bpftrace down…). */
  lastIncomplete: { windowEnd: number; reasons: string[] } | null;
}

/** The gaps between a node's agents. */
interface RollGaps {
  restarts: number;
  totalMs: number;
  last: { ms: number; at: number } | null;
}

/**
 * The time between the newest window of a node's earlier agents and the first window of a new one: nothing
 * counted it (the old agent had stopped, the new one not started). null for the node's first agent.
 */
export function rollGapMs(earlierEnds: Iterable<number>, firstStart: number): number | null {
  let newest: number | null = null;
  for (const end of earlierEnds) newest = newest === null ? end : Math.max(newest, end);
  return newest === null ? null : Math.max(0, firstStart - newest);
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
  /** node → its `netns` rows (counted before the agent named their pod), to hand over to the pod later. */
  private readonly netnsRows = new Map<string, Set<PodRecord>>();
  private readonly nodes = new Map<string, NodeState>();
  /** node → the gaps between its agents (kept while the node is). */
  private readonly gaps = new Map<string, RollGaps>();
  /** node → agent boot → window seqs applied. */
  private readonly seen = new Map<string, Map<string, SeqTracker>>();
  private readonly listeners: ((summary: NodeSummary) => void)[] = [];
  /** Nodes and pods not tracked because the model was full. */
  readonly shed = { nodes: 0, pods: 0 };
  /** Netns rows whose history moved to their pod's row. */
  movedRows = 0;

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
      const gapMs = rollGapMs(
        [...boots.values()].map((b) => b.lastEnd),
        summary.windowStart,
      );
      if (gapMs !== null) this.recordGap(summary.node, gapMs, summary.windowStart);
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
        if (entry.owner.kind === "netns") this.rowsOf(summary.node).add(record);
      }
      if (entry.owner.kind === "pod") this.takeOverNetnsRows(summary, entry, record);
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

  private recordGap(node: string, gapMs: number, at: number): void {
    const gaps = this.gaps.get(node) ?? { restarts: 0, totalMs: 0, last: null };
    gaps.restarts++;
    gaps.totalMs += gapMs;
    if (!gaps.last || at >= gaps.last.at) gaps.last = { ms: gapMs, at };
    this.gaps.set(node, gaps);
  }

  private rowsOf(node: string): Set<PodRecord> {
    let rows = this.netnsRows.get(node);
    if (!rows) {
      rows = new Set();
      this.netnsRows.set(node, rows);
    }
    return rows;
  }

  /**
   * A pod's entry names the netns rows of its node that were this pod before the agent knew it: a hostNetwork
   * pod's `pod-<uid>` row, and a row in the pod's own netns (by inode) that counted up to this window. (An
   * inode is reused after its netns is gone: a row that stopped before the window before this one is another
   * netns's.) Their history moves to the pod's row; the netns rows end.
   */
  private takeOverNetnsRows(summary: NodeSummary, entry: PodEntry, record: PodRecord): void {
    const rows = this.netnsRows.get(summary.node);
    if (!rows || rows.size === 0 || entry.owner.kind !== "pod") return;
    const { owner } = entry;
    const windowMs = summary.windowEnd - summary.windowStart;
    for (const row of rows) {
      const name = row.latest.owner.name;
      const sameNetns =
        !owner.hostNetwork &&
        row.lastSeen <= summary.windowStart &&
        row.lastSeen >= summary.windowStart - windowMs &&
        row.latest.netns.some((inode) => entry.netns.includes(inode));
      if (name !== `pod-${owner.uid}` && !sameNetns) continue;
      record.absorb(row, this.historyMs, this.retentionMs);
      rows.delete(row);
      this.pods.delete(row.key);
      this.movedRows++;
    }
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
      lastIncomplete:
        !s.complete && s.windowEnd >= (node?.lastIncomplete?.windowEnd ?? 0)
          ? { windowEnd: s.windowEnd, reasons: s.incompleteReasons }
          : (node?.lastIncomplete ?? null),
      ...gapFields(this.gaps.get(s.node)),
    });
  }

  /** Forgets pods and nodes whose newest window is older than the retention (their history has aged out). */
  expire(): void {
    const horizon = this.clock() - this.retentionMs;
    for (const [key, record] of this.pods)
      if (record.lastSeen < horizon) {
        this.pods.delete(key);
        this.netnsRows.get(record.node)?.delete(record);
      }
    for (const [node, rows] of this.netnsRows) if (rows.size === 0) this.netnsRows.delete(node);
    // A boot whose windows have all left the stream cannot be replayed any more.
    for (const [node, boots] of this.seen) {
      for (const [boot, seqs] of boots) if (seqs.lastEnd < horizon) boots.delete(boot);
      if (boots.size === 0) this.seen.delete(node);
    }
    for (const [node, state] of this.nodes)
      if (state.lastSeen < horizon) {
        this.nodes.delete(node);
        this.gaps.delete(node);
      }
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

function gapFields(gaps: RollGaps | undefined): Pick<NodeState, "agentRestarts" | "gapSeconds" | "lastGap"> {
  return {
    agentRestarts: gaps?.restarts ?? 0,
    gapSeconds: (gaps?.totalMs ?? 0) / 1000,
    lastGap: gaps?.last ? { seconds: gaps.last.ms / 1000, at: gaps.last.at } : null,
  };
}

/**
 * Every entry is keyed by its node too: a pod's UID is unique cluster-wide, but a summary is only its node's
 * word, so one node's summary can never rewrite another node's pods.
 */
export function recordKey(node: string, owner: Owner): string {
  return `${node}/${ownerKey(owner)}`;
}
