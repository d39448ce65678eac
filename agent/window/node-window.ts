import type { NetnsGauges } from "../gauges/netns-gauges.js";
import { addTransition, classifyTransition } from "../probe/transition.js";
import { addCounters, zeroCounters } from "../wire/counters.js";
import { formatEndpoint } from "../wire/endpoint.js";
import type { Counters, NodeHealth, NodeSummary, Owner } from "../wire/summary.js";
import { ownerKey, SUMMARY_SCHEMA } from "../wire/summary.js";
import { addNetns, type EntryParts, finishEntry, newEntryParts } from "./pod-entry.js";

/** This window's counts of one network namespace (or, in a netns split by cgroup, of one cgroup in it). */
interface NetnsCounts {
  inode: number;
  /** 0 where the netns is not split by cgroup. */
  cgroup: number;
  window: Counters;
  windowTransitions: number;
  /** Connects per remote endpoint in this window. */
  connects: Map<string, number>;
  /** The owner it resolved to when the last window closed. */
  owner: Owner | null;
}

export interface WindowContext {
  node: string;
  bootId: string;
  now: number;
  /** Who owns a netns (a cgroup in a split netns) now; a `netns` owner when nobody is known. */
  ownerOf(inode: number, cgroup: number): Owner;
  /** Netns that exist now: entries of vanished ones end once they count nothing more. */
  aliveNetns: ReadonlySet<number>;
  /** Pods known on this node: each is reported every window, with zeros when it made no transition. */
  knownPods: Iterable<Owner & { kind: "pod" }>;
  /** Netns that are always reported (the host, named netns in standalone mode). */
  alwaysReport: Iterable<number>;
  /** The netns's socket gauges from this window's gauge pass, where it could be read. */
  gaugesOf?(inode: number): NetnsGauges | undefined;
  /** Gauges of a pod that shares a split netns (a hostNetwork pod): its own sockets only. */
  podGaugesOf?(pod: Owner & { kind: "pod" }): NetnsGauges | undefined;
  health: Omit<NodeHealth, "transitions" | "attributedTransitions" | "attributedShare">;
}

function totalOf(totals: Map<string, Counters>, key: string): Counters {
  let total = totals.get(key);
  if (!total) {
    total = zeroCounters();
    totals.set(key, total);
  }
  return total;
}

/**
 * Aggregates kernel counts into per-pod windows. Counts are kept per network namespace (what the kernel
 * knows) and resolved to pods when a window closes, so counts taken before a pod is known are labelled once it
 * is, and nothing is dropped.
 */
export class NodeWindow {
  private readonly byNetns = new Map<string, NetnsCounts>();
  /** Running totals since the agent started, per owner: a pod keeps its total when its netns ends. */
  private totals = new Map<string, Counters>();
  private windowStart: number;
  private seq = 0;
  private incomplete: string[] = [];

  /**
   * `splitByCgroup(inode)`: count this netns per cgroup (the host netns, shared by hostNetwork pods, whose
   * sockets only their cgroup tells apart).
   */
  constructor(
    start: number,
    private readonly splitByCgroup: (inode: number) => boolean = () => false,
  ) {
    this.windowStart = start;
  }

  private entry(inode: number, cgroup: number): NetnsCounts {
    const split = this.splitByCgroup(inode);
    const key = split ? `${inode}/${cgroup}` : `${inode}`;
    let e = this.byNetns.get(key);
    if (!e) {
      e = {
        inode,
        cgroup: split ? cgroup : 0,
        window: zeroCounters(),
        windowTransitions: 0,
        connects: new Map(),
        owner: null,
      };
      this.byNetns.set(key, e);
    }
    return e;
  }

  /** One kernel count: `count` transitions old → new of sockets in netns `inode` made by cgroup `cgroup`. */
  add(inode: number, oldState: number, newState: number, count: number, cgroup = 0): void {
    const e = this.entry(inode, cgroup);
    e.windowTransitions += count;
    addTransition(e.window, classifyTransition(oldState, newState), count);
  }

  /** `count` connects from netns `inode` to `address`:`port` in this window. */
  addDestination(inode: number, address: string, port: number, count: number, cgroup = 0): void {
    const connects = this.entry(inode, cgroup).connects;
    const endpoint = formatEndpoint(address, port);
    connects.set(endpoint, (connects.get(endpoint) ?? 0) + count);
  }

  /** cgroup ids counted in netns split by cgroup since the window opened. */
  cgroups(): Set<number> {
    const set = new Set<number>();
    for (const e of this.byNetns.values()) if (e.cgroup !== 0) set.add(e.cgroup);
    return set;
  }

  /** Netns that counted transitions since the window opened. */
  active(): Set<number> {
    const set = new Set<number>();
    for (const e of this.byNetns.values()) if (e.windowTransitions > 0) set.add(e.inode);
    return set;
  }

  /**
   * The first window starts when counting did (the probes attached), not when the agent did: nothing was
   * counted before, and what came before is the gap since the node's previous agent, which the collector
   * measures from the two agents' windows. Only before the first window closed.
   */
  startFirstWindowAt(start: number): void {
    if (this.seq === 0) this.windowStart = start;
  }

  /** Counts of this window may be missing; the reason is shipped with it. */
  markIncomplete(reason: string): void {
    if (!this.incomplete.includes(reason)) this.incomplete.push(reason);
  }

  /** Closes the window: resolves owners, folds the window into the totals and returns the node summary. */
  close(ctx: WindowContext): NodeSummary {
    const grouped = new Map<string, EntryParts>();
    const group = (owner: Owner, e: NetnsCounts | null) => {
      const key = ownerKey(owner);
      let parts = grouped.get(key);
      if (!parts) {
        parts = newEntryParts(owner);
        grouped.set(key, parts);
        if (owner.kind === "pod" && owner.hostNetwork) {
          const own = ctx.podGaugesOf?.(owner);
          if (own) parts.gauges.push(own);
        }
      }
      // A split netns's gauges are its non-pod owner's (the host's); its pods bring their own.
      const netnsGauges =
        e && !(e.cgroup !== 0 && owner.kind === "pod") ? ctx.gaugesOf?.(e.inode) : undefined;
      addNetns(parts, e?.inode ?? null, e?.window ?? zeroCounters(), e?.connects, netnsGauges);
    };
    const totals = this.totals;
    let transitions = 0;
    let attributed = 0;
    for (const inode of ctx.alwaysReport) this.entry(inode, 0);
    for (const [entryKey, e] of this.byNetns) {
      const alive = ctx.aliveNetns.has(e.inode);
      const resolved = ctx.ownerOf(e.inode, e.cgroup);
      // Late counts of a pod whose netns is gone still belong to that pod.
      const owner = resolved.kind === "netns" && e.owner && !alive ? e.owner : resolved;
      const key = ownerKey(owner);
      // A netns labelled at last brings the total it counted while unknown to its pod. (A netns that leaves
      // a pod, its inode reused, starts afresh: the pod keeps what it counted.)
      if (e.owner?.kind === "netns" && ownerKey(e.owner) !== key) {
        const before = totals.get(ownerKey(e.owner));
        if (before) {
          totals.delete(ownerKey(e.owner));
          addCounters(totalOf(totals, key), before);
        }
      }
      e.owner = owner;
      addCounters(totalOf(totals, key), e.window);
      transitions += e.windowTransitions;
      if (owner.kind === "pod") attributed += e.windowTransitions;
      if (alive || e.windowTransitions > 0) group(owner, e);
      // Per-cgroup entries come back with their next count; the owner's total is kept meanwhile.
      // (Unless it waits for its pod's name: its total moves to the pod then.)
      if ((!alive || (e.cgroup !== 0 && owner.kind !== "netns")) && e.windowTransitions === 0)
        this.byNetns.delete(entryKey);
      e.window = zeroCounters();
      e.windowTransitions = 0;
      e.connects = new Map();
    }
    for (const pod of ctx.knownPods) if (!grouped.has(ownerKey(pod))) group(pod, null);
    // Totals live as long as their owner is reported: a deleted pod's series ends with it.
    this.totals = new Map();
    const pods = [];
    for (const [key, parts] of grouped) {
      const total = totals.get(key) ?? zeroCounters();
      this.totals.set(key, total);
      pods.push(finishEntry(parts, total));
    }

    const summary: NodeSummary = {
      schema: SUMMARY_SCHEMA,
      node: ctx.node,
      bootId: ctx.bootId,
      seq: this.seq++,
      windowStart: this.windowStart,
      windowEnd: ctx.now,
      complete: this.incomplete.length === 0,
      incompleteReasons: this.incomplete,
      pods,
      health: {
        ...ctx.health,
        transitions,
        attributedTransitions: attributed,
        attributedShare: transitions === 0 ? 1 : attributed / transitions,
      },
    };
    this.windowStart = ctx.now;
    this.incomplete = [];
    return summary;
  }
}
