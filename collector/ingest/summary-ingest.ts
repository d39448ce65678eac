import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { DEADLETTER_SUBJECT, SUMMARY_STREAM, SUMMARY_SUBJECT_PREFIX } from "../../agent/wire/subjects.js";
import { upsertStream } from "../jetstream-stream.js";
import type { ClusterModel } from "../model/cluster-model.js";
import { decodeSummary } from "./decode-summary.js";

export interface IngestOptions {
  retentionMs: number;
  maxBytes: number;
  duplicateWindowMs: number;
  logger: Logger;
}

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
 * acks; the stream is the shared source of truth. A message that is not a valid v1 summary is counted, logged
 * once per reason, copied to tcpstate.v1.deadletter, and skipped.
 */
export class SummaryIngest {
  private messages: ConsumerMessages | undefined;
  private readonly loggedReasons = new Set<string>();
  private running: Promise<void> | undefined;
  caughtUp = false;
  ingested = 0;
  duplicates = 0;
  pending = 0;
  readonly deadLetters = new Map<string, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly model: ClusterModel,
    private readonly opts: IngestOptions,
  ) {}

  async start(): Promise<void> {
    await ensureStream(await jetstreamManager(this.nc), this.opts);
    const consumer = await jetstream(this.nc).consumers.get(SUMMARY_STREAM, {
      deliver_policy: DeliverPolicy.All,
    });
    const info = await consumer.info(true);
    // An empty stream: nothing to replay.
    if (info.num_pending === 0) this.caughtUp = true;
    this.messages = await consumer.consume();
    this.running = this.loop(this.messages);
  }

  private async loop(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      this.pending = m.info.pending;
      const decoded = decodeSummary(m.data);
      if (decoded.ok) {
        if (this.model.apply(decoded.summary) === "applied") this.ingested++;
        else this.duplicates++;
      } else {
        this.deadLetters.set(decoded.reason, (this.deadLetters.get(decoded.reason) ?? 0) + 1);
        if (!this.loggedReasons.has(decoded.reason)) {
          this.loggedReasons.add(decoded.reason);
          this.opts.logger.warn(
            { subject: m.subject, streamSeq: m.seq, reason: decoded.reason, detail: decoded.detail },
            "summary rejected: moved to the dead-letter subject (further ones of this kind are only counted)",
          );
        }
        const h = headers();
        h.set("Tcpstate-Reason", decoded.reason);
        h.set("Tcpstate-Detail", decoded.detail.slice(0, 512));
        h.set("Tcpstate-Subject", m.subject);
        this.nc.publish(DEADLETTER_SUBJECT, m.data, { headers: h });
      }
      if (m.info.pending === 0 && !this.caughtUp) {
        this.caughtUp = true;
        this.opts.logger.info(
          { ingested: this.ingested, pods: this.model.trackedPods },
          "caught up with the stream",
        );
      }
    }
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.running;
  }
}
