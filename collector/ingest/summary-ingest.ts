import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { DEADLETTER_SUBJECT, SUMMARY_STREAM, SUMMARY_SUBJECT_PREFIX } from "../../agent/wire/subjects.js";
import { withoutControlCharacters } from "../../common/control-characters.js";
import { retrySetUp, upsertStream } from "../jetstream-stream.js";
import type { ClusterModel } from "../model/cluster-model.js";
import { decodeSummary, type RefusalReason } from "./decode-summary.js";

export interface IngestOptions {
  retentionMs: number;
  maxBytes: number;
  duplicateWindowMs: number;
  logger: Logger;
  clock?: () => number;
}

/**
 * What nats-server may send ahead of our reads: far below its per-client buffer (max_pending, 64 MB), so a
 * collector busy applying never becomes a slow consumer by its own pulls. Summaries of 50 pods are ~85 KB.
 */
const PULL_MAX_BYTES = 4 << 20;
/** How often the stream's end is compared with what was applied. */
const WATCH_MS = 5000;
/**
 * The stream has newer summaries but none arrived for this long: the consumer is stalled, started anew (a pull
 * delivers within milliseconds; nats.js itself gives up only after two missed 15 s heartbeats).
 */
const STALL_MS = 10_000;
/**
 * Behind (not ready) past this many unread summaries — 5 s of a 1,000-node cluster's windows — and caught up
 * again at most one pull's worth from the end.
 */
export const BEHIND_SUMMARIES = 1000;
const CAUGHT_UP_SUMMARIES = 100;

/** The summaries stream as the collector wants it: created when missing, brought to these settings when not. */
export function ensureStream(jsm: JetStreamManager, opts: IngestOptions): Promise<void> {
  return upsertStream(jsm, {
    name: SUMMARY_STREAM,
    subjects: [`${SUMMARY_SUBJECT_PREFIX}.>`],
    retentionMs: opts.retentionMs,
    duplicateWindowMs: opts.duplicateWindowMs,
    maxBytes: opts.maxBytes,
  });
}

/**
 * Reads every summary in the stream from its start (so a restarted or second collector rebuilds the same
 * model), then follows it live, with an ordered consumer: each collector replica reads everything and needs no
 * acks; the stream is the shared source of truth. A message that is not a valid v1 summary of its subject's
 * node, or that cannot be applied, is counted, logged once per reason, copied to tcpstate.v1.deadletter, and
 * skipped. A consumer that ends, fails or stalls is started again after the last summary applied; while it is
 * down or far behind the stream's end, the collector is not ready.
 */
export class SummaryIngest {
  private messages: ConsumerMessages | undefined;
  private readonly loggedReasons = new Set<string>();
  private running: Promise<void> | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly clock: () => number;
  /** Stream sequence of the newest message handled (applied or refused). */
  private handledSeq = 0;
  private lastProgressAt = 0;
  private consuming = false;
  /** Caught up with the stream once (the replay is over); then whether it fell behind again. */
  private replayed = false;
  private behind = false;
  ingested = 0;
  duplicates = 0;
  /** Summaries in the stream not read yet. */
  pending = 0;
  /** Consumers started again after one ended, failed or stalled. */
  restarts = 0;
  readonly deadLetters = new Map<RefusalReason, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly model: ClusterModel,
    private readonly opts: IngestOptions,
  ) {
    this.clock = opts.clock ?? Date.now;
  }

  /** The replay is over and the collector follows the stream's end. */
  get caughtUp(): boolean {
    return this.replayed && !this.behind && this.consuming;
  }

  /** What keeps the collector from being ready, for /readyz. */
  waitingFor(): string[] {
    if (!this.consuming) return ["the summaries consumer (starting)"];
    if (!this.replayed) return [`replay of the stream (${this.pending} summaries to read)`];
    if (this.behind) return [`the stream's end (${this.pending} summaries behind)`];
    return [];
  }

  async start(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    await ensureStream(jsm, this.opts);
    this.running = this.run();
    this.watchTimer = setInterval(() => void this.watch(jsm), WATCH_MS);
  }

  /** Consumers one after another, each from the message after the last one handled, until stopped. */
  private async run(): Promise<void> {
    const log = this.opts.logger;
    while (!this.stopping) {
      const messages = await retrySetUp(
        "start the summaries consumer",
        log,
        () => this.stopping,
        1000,
        () => this.consume(),
      );
      if (!messages) return;
      this.messages = messages;
      this.consuming = true;
      this.lastProgressAt = this.clock();
      try {
        for await (const m of messages) this.handle(m);
      } catch (err) {
        log.error({ err: (err as Error).message, afterSeq: this.handledSeq }, "summaries consumer failed");
      }
      this.consuming = false;
      if (this.stopping) return;
      this.restarts++;
      log.warn(
        { afterSeq: this.handledSeq, restarts: this.restarts },
        "summaries consumer ended; starting it again",
      );
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private async consume(): Promise<ConsumerMessages> {
    const from = this.handledSeq + 1;
    const consumer = await jetstream(this.nc).consumers.get(
      SUMMARY_STREAM,
      this.handledSeq === 0
        ? { deliver_policy: DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from },
    );
    const info = await consumer.info(true);
    this.pending = info.num_pending;
    // Nothing to read: the replay (if any) is over, or the lag made up.
    if (info.num_pending === 0 && (!this.replayed || this.behind)) this.caughtUpAt(0);
    return consumer.consume({ max_bytes: PULL_MAX_BYTES });
  }

  /** One message, whatever it holds: nothing in it may stop the ingest. */
  private handle(m: JsMsg): void {
    this.handledSeq = m.seq;
    this.lastProgressAt = this.clock();
    this.pending = m.info.pending;
    try {
      const decoded = decodeSummary(m.data, m.subject, this.clock());
      if (!decoded.ok) this.refuse(m, decoded.reason, decoded.detail);
      else if (this.model.apply(decoded.summary) === "applied") this.ingested++;
      else this.duplicates++;
    } catch (err) {
      this.refuse(m, "apply-failed", (err as Error).message);
    }
    this.track(this.pending);
  }

  /** Behind past BEHIND_SUMMARIES unread; caught up again within CAUGHT_UP_SUMMARIES (the replay: at 0). */
  private track(pending: number): void {
    if (!this.replayed) {
      if (pending === 0) this.caughtUpAt(pending);
    } else if (!this.behind && pending > BEHIND_SUMMARIES) {
      this.behind = true;
      this.opts.logger.warn({ pending }, "behind the summaries stream: not ready until caught up");
    } else if (this.behind && pending <= CAUGHT_UP_SUMMARIES) this.caughtUpAt(pending);
  }

  private caughtUpAt(pending: number): void {
    const first = !this.replayed;
    this.replayed = true;
    this.behind = false;
    this.opts.logger.info(
      { ingested: this.ingested, pods: this.model.trackedPods, pending },
      first ? "caught up with the stream" : "caught up with the stream again",
    );
  }

  /**
   * Compares the stream's end with what was handled: the lag while no message arrives (a consumer that nats-
   * server dropped, or that stopped pulling), and a stall that needs a new consumer.
   */
  private async watch(jsm: JetStreamManager): Promise<void> {
    if (!this.consuming || this.stopping) return;
    try {
      const { state } = await jsm.streams.info(SUMMARY_STREAM);
      const lag = Math.max(0, state.last_seq - Math.max(this.handledSeq, state.first_seq - 1));
      if (this.clock() - this.lastProgressAt < WATCH_MS) return; // messages are flowing: they say the lag
      this.pending = lag;
      if (this.replayed || lag > 0) this.track(lag);
      if (lag > 0 && this.clock() - this.lastProgressAt > STALL_MS) {
        this.opts.logger.warn(
          { lag, afterSeq: this.handledSeq, quietMs: this.clock() - this.lastProgressAt },
          "summaries consumer stalled: starting a new one",
        );
        await this.messages?.close();
      }
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, "cannot read the summaries stream's state");
    }
  }

  /**
   * After NATS reconnects, a new consumer from the last message handled: the old one's pull may have been lost
   * with the connection (nats-server drops a client that stopped reading), and it would wait out its heartbeats.
   */
  async reconnected(): Promise<void> {
    if (!this.consuming || this.stopping) return;
    this.opts.logger.info(
      { afterSeq: this.handledSeq },
      "NATS reconnected: starting a new summaries consumer",
    );
    await this.messages?.close();
  }

  /** Counts the message by reason (logged once per reason) and copies it to the dead-letter subject. */
  private refuse(m: JsMsg, reason: RefusalReason, detail: string): void {
    this.deadLetters.set(reason, (this.deadLetters.get(reason) ?? 0) + 1);
    if (!this.loggedReasons.has(reason)) {
      this.loggedReasons.add(reason);
      this.opts.logger.warn(
        { subject: m.subject, streamSeq: m.seq, reason, detail: detail.slice(0, 512) },
        "summary rejected: moved to the dead-letter subject (further ones of this kind are only counted)",
      );
    }
    try {
      const h = headers();
      h.set("Tcpstate-Reason", reason);
      // A CR or LF in a header value throws in the client (it crashed the ingest loop).
      h.set("Tcpstate-Detail", withoutControlCharacters(detail).slice(0, 512));
      h.set("Tcpstate-Subject", withoutControlCharacters(m.subject).slice(0, 256));
      this.nc.publish(DEADLETTER_SUBJECT, m.data, { headers: h });
    } catch (err) {
      // The count and the log line above stand; only the copy is lost (the connection is closing).
      this.opts.logger.debug({ err: (err as Error).message }, "dead letter not published");
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.watchTimer);
    await this.messages?.close();
    await this.running;
  }
}
