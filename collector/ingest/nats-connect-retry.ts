/** Between two attempts to reach NATS before the first connection. */
export const NATS_CONNECT_RETRY_MS = 5000;
/**
 * How long NATS may be unreachable at start before that is an error: a collector and its NATS start together
 * (a Helm install, a node reboot), and NATS answers within seconds to a minute of starting (a PVC attached,
 * JetStream's store read back).
 */
export const NATS_START_GRACE_MS = 120_000;

/**
 * The level of a failed first connection: expected while NATS may still be starting (`warn`, with the retry),
 * an error once it has been away for longer than a start takes.
 */
export function connectFailureLevel(waitedMs: number): "warn" | "error" {
  return waitedMs < NATS_START_GRACE_MS ? "warn" : "error";
}
