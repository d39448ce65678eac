import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { TransitionEvent } from "../wire/events.js";
import { type EventLeaseReply, EventLeaseRequestSchema } from "../wire/events.js";
import { EVENTS_CONTROL_SUBJECT, eventsSubject, subjectToken } from "../wire/subjects.js";

export const EVENTS_MODES = ["on-demand", "always", "off"] as const;
export type EventsMode = (typeof EVENTS_MODES)[number];

export interface EventPublisherOptions {
  node: string;
  mode: EventsMode;
  /** The per-event stream: subscribing starts it (and its bpftrace), the returned function stops it. */
  subscribe(fn: (event: TransitionEvent) => void): () => Promise<void>;
  logger: Logger;
  clock?: () => number;
}

/**
 * Bridges the per-event stream to core NATS `tcpstate.v1.events.<node>`. On demand (default), it streams only
 * while someone holds a lease (a request on `tcpstate.v1.control.events[.<node>]`, renewed by `tail`), so the
 * second bpftrace program runs only then; `always` streams from the start. Live only: no JetStream.
 */
export class EventPublisher {
  private nc: NatsConnection | undefined;
  private readonly subs: Subscription[] = [];
  private until = 0;
  private unsubscribe: (() => Promise<void>) | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private readonly clock: () => number;
  badRequests = 0;
  published = 0;

  constructor(private readonly opts: EventPublisherOptions) {
    this.clock = opts.clock ?? Date.now;
  }

  get streaming(): boolean {
    return this.unsubscribe !== undefined;
  }

  /** Starts serving on a connection (its subscriptions survive reconnects). */
  attach(nc: NatsConnection): void {
    if (this.opts.mode === "off" || this.nc) return;
    this.nc = nc;
    if (this.opts.mode === "always") {
      this.startStreaming();
      return;
    }
    for (const subject of [
      EVENTS_CONTROL_SUBJECT,
      `${EVENTS_CONTROL_SUBJECT}.${subjectToken(this.opts.node)}`,
    ])
      this.subs.push(
        nc.subscribe(subject, { callback: (err, msg) => (err ? undefined : this.onLease(msg)) }),
      );
  }

  private onLease(msg: Msg): void {
    let parsed: ReturnType<typeof EventLeaseRequestSchema.safeParse>;
    try {
      parsed = EventLeaseRequestSchema.safeParse(msg.json());
    } catch {
      parsed = EventLeaseRequestSchema.safeParse(undefined);
    }
    if (!parsed.success) {
      // Counted; logged once (a misbehaving client would otherwise flood the log).
      if (this.badRequests++ === 0)
        this.opts.logger.warn(
          {
            subject: msg.subject,
            reason: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
          },
          'bad event lease request (expected {"leaseSeconds": 1..300})',
        );
      msg.respond(JSON.stringify({ node: this.opts.node, error: 'expected {"leaseSeconds": 1..300}' }));
      return;
    }
    this.until = Math.max(this.until, this.clock() + parsed.data.leaseSeconds * 1000);
    this.startStreaming();
    this.scheduleExpiry();
    const reply: EventLeaseReply = { node: this.opts.node, until: this.until };
    msg.respond(JSON.stringify(reply));
  }

  private startStreaming(): void {
    if (this.unsubscribe || !this.nc) return;
    const nc = this.nc;
    const subject = eventsSubject(this.opts.node);
    this.opts.logger.info({ subject, mode: this.opts.mode }, "streaming transitions");
    this.unsubscribe = this.opts.subscribe((event) => {
      nc.publish(subject, JSON.stringify(event));
      this.published++;
    });
  }

  private scheduleExpiry(): void {
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = setTimeout(() => void this.expire(), Math.max(0, this.until - this.clock()) + 10);
  }

  private async expire(): Promise<void> {
    this.expiry = undefined;
    if (this.clock() < this.until) return this.scheduleExpiry();
    const stop = this.unsubscribe;
    this.unsubscribe = undefined;
    if (stop) {
      this.opts.logger.info("event lease expired: stream stopped");
      await stop();
    }
  }

  async stop(): Promise<void> {
    if (this.expiry) clearTimeout(this.expiry);
    for (const s of this.subs) s.unsubscribe();
    const stop = this.unsubscribe;
    this.unsubscribe = undefined;
    await stop?.();
  }
}
