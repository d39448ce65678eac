/**
 * Alert events on NATS JetStream: `tcpstate.v1.alerts.<severity>` in the stream TCPSTATE_ALERTS, each with the
 * message id `<fingerprint>/<startsAt ms>/<status>`, so a re-publish (a restarted collector, a second replica)
 * is a duplicate JetStream drops. At start the collector reads the stream (the ids, and each alert's newest
 * event) to publish only what is missing: an alert that fired or resolved while no collector was running, or
 * one the stream shows firing that the replay did not rebuild (resolved then).
 */
import { DeliverPolicy, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { upsertStream } from "../../jetstream-stream.js";
import {
  ALERTS_STREAM,
  ALERTS_SUBJECT_PREFIX,
  type AlertEvent,
  AlertEventSchema,
  alertsSubject,
  eventId,
} from "../alert-event.js";
import { DeliveryQueue } from "./delivery-queue.js";

export interface AlertStreamOptions {
  retentionMs: number;
  duplicateWindowMs: number;
}

export function ensureAlertStream(jsm: JetStreamManager, opts: AlertStreamOptions): Promise<void> {
  return upsertStream(jsm, {
    name: ALERTS_STREAM,
    subjects: [`${ALERTS_SUBJECT_PREFIX}.>`],
    retentionMs: opts.retentionMs,
    duplicateWindowMs: opts.duplicateWindowMs,
  });
}

/** What the alerts stream holds: every event id, and the newest event of each alert (by fingerprint). */
export interface AlertStreamState {
  ids: Set<string>;
  last: Map<string, AlertEvent>;
}

/** How long reading the alerts stream may take before what was read is used. */
const READ_TIMEOUT_MS = 30_000;

export async function readAlertStream(nc: NatsConnection): Promise<AlertStreamState> {
  const state: AlertStreamState = { ids: new Set(), last: new Map() };
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(ALERTS_STREAM);
  if (info.state.messages === 0) return state;
  const consumer = await jetstream(nc).consumers.get(ALERTS_STREAM, { deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume();
  const timer = setTimeout(() => void messages.close(), READ_TIMEOUT_MS);
  try {
    for await (const m of messages) {
      const id = m.headers?.get("Nats-Msg-Id");
      if (id) state.ids.add(id);
      let parsed: ReturnType<typeof AlertEventSchema.safeParse> | undefined;
      try {
        parsed = AlertEventSchema.safeParse(m.json());
      } catch {
        parsed = undefined; // not JSON: someone else's message on our subjects; its id still counts
      }
      if (parsed?.success) state.last.set(parsed.data.fingerprint, parsed.data);
      if (m.info.pending === 0) break;
    }
  } finally {
    clearTimeout(timer);
    await messages.close();
  }
  return state;
}

/** The message ids of every alert event in the stream. */
export async function publishedEventIds(nc: NatsConnection): Promise<Set<string>> {
  return (await readAlertStream(nc)).ids;
}

export function natsAlertSink(
  nc: NatsConnection,
  logger: Logger,
  maxItems = 10_000,
): DeliveryQueue<AlertEvent> {
  const js = jetstream(nc);
  return new DeliveryQueue<AlertEvent>(
    async (event) => {
      await js.publish(alertsSubject(event.labels.severity ?? "none"), JSON.stringify(event), {
        msgID: eventId(event),
      });
    },
    { name: "nats", maxItems, logger },
  );
}
