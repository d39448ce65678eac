/**
 * A generic webhook: each firing and resolved event is POSTed as JSON (the tcpstate.v1.alert event), in order,
 * with an Idempotency-Key header (the event id) so a receiver can drop a repeat. Retries back off; the queue is
 * bounded and what it drops is counted.
 */
import type { Logger } from "pino";
import { type AlertEvent, eventId } from "../alert-event.js";
import { DeliveryQueue } from "./delivery-queue.js";
import { postJson } from "./http-post.js";

export function webhookSink(url: string, logger: Logger, maxItems = 1000): DeliveryQueue<AlertEvent> {
  return new DeliveryQueue<AlertEvent>(
    (event) => postJson(url, event, { "idempotency-key": eventId(event) }),
    { name: "webhook", maxItems, logger },
  );
}
