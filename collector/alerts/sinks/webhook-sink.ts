/**
 * A generic webhook: each firing and resolved event is POSTed as JSON (the tcpstate.v1.alert event), in order,
 * with an Idempotency-Key header (the event id) so a receiver can drop a repeat. Retries back off; the queue is
 * bounded and what it drops is counted. Credentials and TLS: http-sink-target.ts.
 */
import type { Logger } from "pino";
import { type AlertEvent, eventId } from "../alert-event.js";
import { DeliveryQueue } from "./delivery-queue.js";
import { type HttpSinkSettings, postToSink } from "./http-sink-target.js";

export function webhookSink(
  target: HttpSinkSettings,
  logger: Logger,
  maxItems = 1000,
): DeliveryQueue<AlertEvent> {
  return new DeliveryQueue<AlertEvent>(
    (event) => postToSink(target, event, { "idempotency-key": eventId(event) }),
    { name: "webhook", maxItems, logger },
  );
}
