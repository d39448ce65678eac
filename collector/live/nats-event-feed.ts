import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import {
  type EventLeaseRequest,
  type TransitionEvent,
  TransitionEventSchema,
} from "../../agent/wire/events.js";
import { EVENTS_CONTROL_SUBJECT, EVENTS_SUBJECT_PREFIX } from "../../agent/wire/subjects.js";
import type { EventFeed } from "./event-tap.js";

/** Short leases, renewed while anyone watches: agents stop streaming within seconds of the last one leaving. */
export const LEASE_SECONDS = 6;
const RENEW_MS = 2000;

/**
 * Live transitions of every agent through NATS: while open, it holds event leases on all of them
 * (tcpstate.v1.control.events) and relays tcpstate.v1.events.*; a message that is no valid event is counted and
 * logged once.
 */
export function natsEventFeed(
  nc: NatsConnection,
  logger: Logger,
): EventFeed & { readonly badEvents: number } {
  let badEvents = 0;
  return {
    get badEvents() {
      return badEvents;
    },
    open(onEvent: (e: TransitionEvent) => void) {
      const sub = nc.subscribe(`${EVENTS_SUBJECT_PREFIX}.>`, {
        callback: (err, msg) => {
          if (err) return;
          let parsed: ReturnType<typeof TransitionEventSchema.safeParse>;
          try {
            parsed = TransitionEventSchema.safeParse(msg.json());
          } catch {
            parsed = TransitionEventSchema.safeParse(undefined);
          }
          if (parsed.success) return onEvent(parsed.data);
          if (badEvents++ === 0)
            logger.warn(
              { subject: msg.subject, reason: parsed.error.issues[0]?.message },
              "bad transition event on the live stream (counted, not relayed)",
            );
        },
      });
      const lease = () => {
        const request: EventLeaseRequest = { leaseSeconds: LEASE_SECONDS };
        nc.publish(EVENTS_CONTROL_SUBJECT, JSON.stringify(request));
      };
      lease();
      const renew = setInterval(lease, RENEW_MS);
      logger.info("live events: leases held on every agent");
      return () => {
        clearInterval(renew);
        sub.unsubscribe();
        logger.info(`live events: no watcher left; agents stop within ${LEASE_SECONDS} s`);
      };
    },
  };
}
