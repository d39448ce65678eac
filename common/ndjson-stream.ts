/**
 * Live NDJSON streams to HTTP clients, each with bounded memory: a client that reads slower than events come
 * gets at most `maxQueuedBytes` queued beyond what its socket takes; past that its events are dropped (counted)
 * and it is told so in the stream (`{"dropped":n}`) once it drains again; one that takes nothing for
 * `stuckAfterMs` is disconnected. A blank line every `heartbeatMs` of silence keeps proxies (port-forward) from
 * closing a quiet stream and lets a vanished peer surface as a write error. At most `maxClients` at once: the
 * next one is answered 503.
 */
import type http from "node:http";
import type { HttpRefusals } from "./http-refusals.js";

export interface NdjsonStreamLimits {
  maxClients: number;
  maxQueuedBytes: number;
  stuckAfterMs: number;
  heartbeatMs: number;
}

export const DEFAULT_STREAM_LIMITS: NdjsonStreamLimits = {
  maxClients: 16,
  maxQueuedBytes: 1024 * 1024,
  stuckAfterMs: 30_000,
  heartbeatMs: 15_000,
};

/** One client's stream. */
export class NdjsonStream {
  private dropped = 0;
  private stuckTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private wroteSinceBeat = false;
  private readonly onClose: (() => void)[] = [];

  constructor(
    private readonly res: http.ServerResponse,
    private readonly limits: NdjsonStreamLimits,
    private readonly refusals: HttpRefusals,
    released: () => void,
  ) {
    res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
    res.flushHeaders();
    res.socket?.setKeepAlive(true, limits.heartbeatMs);
    res.on("drain", () => this.drained());
    this.heartbeat = setInterval(() => {
      if (!this.wroteSinceBeat) this.write("\n");
      this.wroteSinceBeat = false;
    }, limits.heartbeatMs);
    res.once("close", () => {
      clearInterval(this.heartbeat);
      clearTimeout(this.stuckTimer);
      released();
      for (const fn of this.onClose) fn();
    });
  }

  /** Runs `fn` once the client is gone (it left, or was cut). */
  whenClosed(fn: () => void): void {
    if (this.res.destroyed) fn();
    else this.onClose.push(fn);
  }

  /** Sends one line (ending in "\n"), or drops it when the client is too far behind. */
  writeLine(line: string): void {
    if (this.res.destroyed) return;
    if (this.res.writableLength + line.length > this.limits.maxQueuedBytes) {
      this.dropped++;
      this.refusals.droppedEvent("client_behind");
      this.waitForDrain();
      return;
    }
    this.write(line);
  }

  private write(text: string): void {
    if (this.res.destroyed) return;
    this.wroteSinceBeat = true;
    if (!this.res.write(text)) this.waitForDrain();
  }

  private waitForDrain(): void {
    this.stuckTimer ??= setTimeout(() => {
      this.refusals.disconnectedStream("stuck");
      this.res.destroy();
    }, this.limits.stuckAfterMs);
  }

  private drained(): void {
    clearTimeout(this.stuckTimer);
    this.stuckTimer = undefined;
    if (this.dropped === 0) return;
    const notice = `${JSON.stringify({ dropped: this.dropped })}\n`;
    this.dropped = 0;
    this.write(notice);
  }
}

/** A service's stream clients: the cap and the limits every stream gets. */
export class NdjsonStreams {
  private clients = 0;

  constructor(
    private readonly limits: NdjsonStreamLimits,
    private readonly refusals: HttpRefusals,
  ) {}

  /** Starts a stream on `res` (200, NDJSON); when the service has its fill, answers 503 and returns undefined. */
  open(res: http.ServerResponse): NdjsonStream | undefined {
    if (this.clients >= this.limits.maxClients) {
      this.refusals.refuse(
        res,
        "too_many_streams",
        `${this.clients} live streams already (the most this service serves at once); try again later`,
      );
      return undefined;
    }
    this.clients++;
    this.refusals.streamClients = this.clients;
    return new NdjsonStream(res, this.limits, this.refusals, () => {
      this.clients--;
      this.refusals.streamClients = this.clients;
    });
  }
}
