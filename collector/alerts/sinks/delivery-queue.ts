/**
 * A bounded, ordered queue with one sender: each item is sent until it succeeds (retries back off exponentially
 * with jitter up to a cap), a permanent failure drops it, and when the queue is full the oldest item is dropped.
 * Drops, errors and sends are counted; a failure streak is logged once when it starts and once when it ends.
 */
import type { Logger } from "pino";
import { Backoff, halfJittered } from "../../../common/backoff.js";

/** Thrown by a sender for a failure that retrying cannot fix (a 4xx answer): the item is dropped. */
export class PermanentDeliveryError extends Error {
  override readonly name = "PermanentDeliveryError";
  readonly code = "DELIVERY_REJECTED";
}

export interface DeliveryStats {
  sent: number;
  errors: number;
  dropped: number;
  readonly queued: number;
}

export interface DeliveryQueueOptions {
  name: string;
  maxItems: number;
  logger: Logger;
}

/** Retries wait 0.5 s, twice as long each time, up to 30 s (jittered by half). */
const RETRY_BACKOFF = { initialMs: 500, maxMs: 30_000 };

export class DeliveryQueue<T> implements DeliveryStats {
  private readonly items: T[] = [];
  sent = 0;
  errors = 0;
  dropped = 0;
  private running = false;
  private closed = false;
  private failing = false;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly send: (item: T) => Promise<void>,
    private readonly opts: DeliveryQueueOptions,
  ) {}

  get queued(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    if (this.items.length > this.opts.maxItems) {
      this.items.shift();
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0)
        this.opts.logger.warn(
          { sink: this.opts.name, dropped: this.dropped, maxItems: this.opts.maxItems },
          "alert delivery queue full: dropped the oldest (counted in tcpstate_alerts_sink_dropped_total)",
        );
    }
    if (!this.running) {
      this.running = true;
      this.loop = this.drain();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    }).then(() => {
      clearTimeout(this.timer);
      this.wake = undefined;
    });
  }

  private async drain(): Promise<void> {
    const retries = new Backoff(RETRY_BACKOFF);
    while (!this.closed && this.items.length > 0) {
      const item = this.items[0] as T;
      try {
        await this.send(item);
        this.sent++;
        retries.reset();
        if (this.failing) {
          this.failing = false;
          this.opts.logger.info({ sink: this.opts.name }, "alert delivery works again");
        }
        if (this.items[0] === item) this.items.shift();
      } catch (err) {
        this.errors++;
        if (err instanceof PermanentDeliveryError) {
          if (this.items[0] === item) this.items.shift();
          this.dropped++;
          this.opts.logger.error(
            { sink: this.opts.name, err: err.message },
            "alert rejected by the receiver: dropped",
          );
          continue;
        }
        if (!this.failing) {
          this.failing = true;
          this.opts.logger.error(
            { sink: this.opts.name, err: (err as Error).message, queued: this.items.length },
            "alert delivery failed; retrying with backoff",
          );
        }
        await this.sleep(halfJittered(retries.next()));
      }
    }
    this.running = false;
  }

  /** Stops sending; waits (at most `graceMs`) for the item in flight. */
  async close(graceMs = 2000): Promise<void> {
    this.closed = true;
    this.wake?.();
    clearTimeout(this.timer);
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, graceMs))]);
  }
}
