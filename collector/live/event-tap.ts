import { formatEndpoint } from "../../agent/wire/endpoint.js";
import type { TransitionEvent } from "../../agent/wire/events.js";
import { namespaceOf, workloadName } from "../../agent/wire/summary.js";
import { type PeerLookup, peerName } from "../peers/peer-directory.js";

export interface EventFilter {
  namespace?: string;
  pod?: string;
  node?: string;
  /** Transitions from or to one of these states. */
  states?: string[];
}

/** A transition as `tail` shows it: the owner's names and the peer's, when known. */
export function enrichEvent(e: TransitionEvent, peers: PeerLookup | null) {
  const o = e.owner;
  const peer = peers ? peerName(peers, formatEndpoint(e.daddr, e.dport)) : null;
  return {
    time: e.time,
    node: e.node,
    namespace: namespaceOf(o),
    pod: o.name,
    kind: o.kind,
    workload: workloadName(o),
    from: e.from,
    to: e.to,
    family: e.family,
    saddr: e.saddr,
    sport: e.sport,
    daddr: e.daddr,
    dport: e.dport,
    peer: peer?.peer ?? null,
  };
}
export type EnrichedEvent = ReturnType<typeof enrichEvent>;

/** Whether `tail`'s filter passes the transition (before it is named: most are not for any watcher). */
export function matchesEvent(e: TransitionEvent, f: EventFilter): boolean {
  return (
    (f.namespace === undefined || namespaceOf(e.owner) === f.namespace) &&
    (f.pod === undefined || e.owner.name === f.pod) &&
    (f.node === undefined || e.node === f.node) &&
    (f.states === undefined || f.states.includes(e.from) || f.states.includes(e.to))
  );
}

/** Where live transitions come from: NATS (the agents, under leases) or an agent in the same process. */
export interface EventFeed {
  /** Starts the stream(s) and delivers each transition to `onEvent` until the returned function is called. */
  open(onEvent: (e: TransitionEvent) => void): () => void;
}

/** Why live events cannot be watched: the collector is not connected to NATS. */
export const EVENTS_NOT_CONNECTED = "not connected to NATS: live events come from the agents through it";

/**
 * The live transition stream for `tail` clients of the collector: while at least one watches, the feed is open
 * and each transition goes, named, to every watcher whose filter it passes, as one NDJSON line serialized once
 * for all of them; when the last one leaves the feed closes (so the agents' per-event bpftrace stops).
 */
export class EventTap {
  private readonly watchers = new Set<{ filter: EventFilter; send(line: string): void }>();
  private close: (() => void) | undefined;

  constructor(
    private readonly feed: () => EventFeed | undefined,
    private readonly peers: PeerLookup | null,
  ) {}

  /** Whether watch() can start now (connected to NATS). */
  get connected(): boolean {
    return this.feed() !== undefined;
  }

  /**
   * Starts relaying matching events to `send`, each as one line ending in "\n"; returns the function that stops
   * it. Throws without a feed.
   */
  watch(filter: EventFilter, send: (line: string) => void): () => void {
    const feed = this.feed();
    if (!feed) throw new Error(EVENTS_NOT_CONNECTED);
    const watcher = { filter, send };
    this.watchers.add(watcher);
    this.close ??= feed.open((raw) => {
      let line: string | undefined;
      for (const w of this.watchers) {
        if (!matchesEvent(raw, w.filter)) continue;
        line ??= `${JSON.stringify(enrichEvent(raw, this.peers))}\n`;
        w.send(line);
      }
    });
    return () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) this.stop();
    };
  }

  stop(): void {
    this.watchers.clear();
    this.close?.();
    this.close = undefined;
  }
}
