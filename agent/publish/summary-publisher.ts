import { randomUUID } from "node:crypto";
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { connectUntilUp } from "../../common/nats-connect.js";
import { type NatsAuth, natsConnectionOptions } from "../wire/nats-connection.js";
import { summarySubject } from "../wire/subjects.js";
import type { NodeSummary } from "../wire/summary.js";

export interface PublisherOptions {
  servers: string[];
  auth: NatsAuth;
  node: string;
  /** Windows kept while NATS is unreachable; the oldest is dropped (and counted) when full. */
  bufferWindows: number;
  logger: Logger;
  /** Called once per published window with its publish latency. */
  onPublished?(seconds: number): void;
  /** Called once the first connection is up (others share it: the event stream). */
  onConnected?(nc: NatsConnection): void;
  clock?: () => number;
}

/** The idempotent id of a window: JetStream drops a second publish with the same id in its duplicate window. */
export function summaryMessageId(summary: NodeSummary): string {
  return `${summary.node}/${summary.bootId}/${summary.seq}`;
}

/**
 * Publishes node summaries to JetStream in order, one at a time, each acknowledged before the next. While NATS
 * is unreachable (or the stream missing) summaries wait in a bounded buffer; the oldest are dropped, counted,
 * when it is full. Publishing resumes, in order, when NATS is back.
 */
export class SummaryPublisher {
  private readonly buffer: NodeSummary[] = [];
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private draining: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Aborted on stop: the first connection is no longer tried. */
  private readonly giveUp = new AbortController();
  private lastError = "";
  /** Message ids this publisher has tried (the newest few), to tell its own duplicates from a taken id. */
  private readonly tried = new Set<string>();
  connected = false;
  /** Windows whose message id someone else had published first, sent again under a fresh id. */
  squatted = 0;
  dropped = 0;
  published = 0;

  constructor(private readonly opts: PublisherOptions) {}

  get buffered(): number {
    return this.buffer.length;
  }

  /** Starts connecting (in the background: an unreachable NATS delays publishing, never start-up). */
  start(): void {
    void this.connectLoop();
  }

  private async connectLoop(): Promise<void> {
    const { servers, auth, node, logger } = this.opts;
    const options = natsConnectionOptions(servers, auth, `tcpstate-agent/${node}`);
    const nc = await connectUntilUp({ options, logger, signal: this.giveUp.signal });
    if (!nc) return;
    this.nc = nc;
    this.js = jetstream(nc);
    this.connected = !nc.isClosed();
    logger.info({ server: nc.getServer() }, "connected to NATS");
    void this.watchStatus(nc);
    this.opts.onConnected?.(nc);
    this.kick();
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      switch (s.type) {
        case "disconnect":
          this.connected = false;
          this.opts.logger.warn({ server: s.server }, "disconnected from NATS; buffering summaries");
          break;
        case "reconnect":
          this.connected = true;
          this.opts.logger.info({ server: s.server, buffered: this.buffer.length }, "reconnected to NATS");
          this.kick();
          break;
        case "error":
          this.opts.logger.error({ err: s.error.message }, "NATS error");
          break;
        default:
          break;
      }
    }
  }

  /** Queues a window; drops the oldest when the buffer is full. */
  enqueue(summary: NodeSummary): void {
    this.buffer.push(summary);
    while (this.buffer.length > this.opts.bufferWindows) {
      this.buffer.shift();
      this.dropped++;
    }
    this.kick();
  }

  private kick(): void {
    if (this.draining || !this.js || !this.connected) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    const clock = this.opts.clock ?? Date.now;
    while (this.buffer.length > 0 && this.js && this.connected) {
      const summary = this.buffer[0] as NodeSummary;
      const started = clock();
      const id = summaryMessageId(summary);
      // A window tried before (an ack lost, a window enqueued again) may be stored already: its duplicate is ours.
      const ours = this.tried.has(id);
      this.tried.add(id);
      if (this.tried.size > 2 * this.opts.bufferWindows)
        this.tried.delete(this.tried.values().next().value as string);
      try {
        const subject = summarySubject(summary.node);
        const data = JSON.stringify(summary);
        const ack = await this.js.publish(subject, data, { msgID: id, timeout: 5000 });
        if (ack.duplicate && !ours) {
          // Its first publish, yet JetStream had the id: someone else published it first (ids are guessable),
          // which would make this window vanish. Sent again under an id nobody could have taken.
          this.squatted++;
          if (this.squatted === 1)
            this.opts.logger.warn(
              { msgID: id },
              "a window's message id was taken by another publisher; sent under a new one",
            );
          await this.js.publish(subject, data, { msgID: `${id}/${randomUUID()}`, timeout: 5000 });
        }
      } catch (err) {
        const message = (err as Error).message;
        // Logged once per kind of failure (no stream, timeout, permissions), not once per window.
        if (message !== this.lastError)
          this.opts.logger.warn(
            { err: message, buffered: this.buffer.length },
            "publishing a summary failed; retrying",
          );
        this.lastError = message;
        if (!this.stopped && !this.retryTimer)
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.kick();
          }, 1000);
        return;
      }
      this.lastError = "";
      // The head may have been dropped meanwhile (buffer overflow): remove what was published, not blindly [0].
      if (this.buffer[0] === summary) this.buffer.shift();
      this.published++;
      this.opts.onPublished?.((clock() - started) / 1000);
    }
  }

  /** Publishes what it can within `timeoutMs`, then closes the connection (SIGTERM path). */
  async stop(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length > 0 && this.connected && Date.now() < deadline) {
      this.kick();
      await (this.draining ?? new Promise((r) => setTimeout(r, 100)));
    }
    this.stopped = true;
    this.giveUp.abort();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.buffer.length > 0)
      this.opts.logger.warn({ lost: this.buffer.length }, "stopping with summaries not yet published");
    await this.nc?.close();
  }
}
