import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import {
  type EventLeaseRequest,
  type TransitionEvent,
  TransitionEventSchema,
} from "../../agent/wire/events.js";
import { EVENTS_CONTROL_SUBJECT, EVENTS_SUBJECT_PREFIX } from "../../agent/wire/subjects.js";
import { type PeerLookup, peerName } from "../peers/peer-directory.js";

/** Short leases, renewed while anyone watches: agents stop streaming within seconds of the last one leaving. */
const LEASE_SECONDS = 6;
const RENEW_MS = 2000;

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
  const peer = peers
    ? peerName(peers, e.family === 6 ? `[${e.daddr}]:${e.dport}` : `${e.daddr}:${e.dport}`)
    : null;
  return {
    time: e.time,
    node: e.node,
    namespace: o.kind === "pod" ? o.namespace : "",
    pod: o.name,
    kind: o.kind,
    workload: o.kind === "pod" && o.workload ? `${o.workload.kind}/${o.workload.name}` : null,
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

export function matchesEvent(e: EnrichedEvent, f: EventFilter): boolean {
  return (
    (f.namespace === undefined || e.namespace === f.namespace) &&
    (f.pod === undefined || e.pod === f.pod) &&
    (f.node === undefined || e.node === f.node) &&
    (f.states === undefined || f.states.includes(e.from) || f.states.includes(e.to))
  );
}

/**
 * The live transition stream for `tail` clients of the collector: while at least one watches, it holds event
 * leases on every agent (tcpstate.v1.control.events) and relays tcpstate.v1.events.* to each watcher through
 * its filter; when the last one leaves it lets the leases lapse, so the agents' per-event bpftrace stops.
 */
export class EventTap {
  private readonly watchers = new Set<{ filter: EventFilter; send(e: EnrichedEvent): void }>();
  private sub: Subscription | undefined;
  private renew: NodeJS.Timeout | undefined;
  badEvents = 0;

  constructor(
    private readonly connection: () => NatsConnection | undefined,
    private readonly peers: PeerLookup | null,
    private readonly logger: Logger,
  ) {}

  get watching(): number {
    return this.watchers.size;
  }

  /** Starts relaying matching events to `send`; returns the function that stops it. Throws without NATS. */
  watch(filter: EventFilter, send: (e: EnrichedEvent) => void): () => void {
    const nc = this.connection();
    if (!nc) throw new Error("not connected to NATS: live events come from the agents through it");
    const watcher = { filter, send };
    this.watchers.add(watcher);
    if (!this.sub) this.open(nc);
    return () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) this.close();
    };
  }

  private open(nc: NatsConnection): void {
    this.sub = nc.subscribe(`${EVENTS_SUBJECT_PREFIX}.>`, {
      callback: (err, msg) => {
        if (err) return;
        let parsed: ReturnType<typeof TransitionEventSchema.safeParse>;
        try {
          parsed = TransitionEventSchema.safeParse(msg.json());
        } catch {
          parsed = TransitionEventSchema.safeParse(undefined);
        }
        if (!parsed.success) {
          if (this.badEvents++ === 0)
            this.logger.warn(
              { subject: msg.subject, reason: parsed.error.issues[0]?.message },
              "bad transition event on the live stream (counted, not relayed)",
            );
          return;
        }
        const event = enrichEvent(parsed.data, this.peers);
        for (const w of this.watchers) if (matchesEvent(event, w.filter)) w.send(event);
      },
    });
    const lease = () => {
      const request: EventLeaseRequest = { leaseSeconds: LEASE_SECONDS };
      nc.publish(EVENTS_CONTROL_SUBJECT, JSON.stringify(request));
    };
    lease();
    this.renew = setInterval(lease, RENEW_MS);
    this.logger.info("live events: leases held on every agent");
  }

  private close(): void {
    clearInterval(this.renew);
    this.renew = undefined;
    this.sub?.unsubscribe();
    this.sub = undefined;
    this.logger.info(`live events: no watcher left; agents stop within ${LEASE_SECONDS} s`);
  }

  stop(): void {
    this.watchers.clear();
    if (this.sub) this.close();
  }
}
