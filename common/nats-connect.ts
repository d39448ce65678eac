/**
 * The first connection to NATS, as the agent and the collector make it: tried until it answers or the caller
 * gives up, every failure (refused, certificate, authorization) said with why. Once connected, nats.js itself
 * reconnects (maxReconnectAttempts: -1 in agent/wire/nats-connection.ts).
 */
import { type ConnectionOptions, connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";

/** Between two attempts to reach NATS before the first connection. */
export const NATS_CONNECT_RETRY_MS = 5000;

/**
 * How long NATS may be unreachable at start before that is an error: a service and its NATS start together
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

export interface ConnectUntilUpOptions {
  options: ConnectionOptions;
  logger: Logger;
  /** Aborted: no further attempt, a connection that still comes up is closed, the result is undefined. */
  signal: AbortSignal;
  retryMs?: number;
  /** How to connect: nats.js's own unless a test passes another. */
  connect?: (options: ConnectionOptions) => Promise<NatsConnection>;
  clock?: () => number;
}

/** Waits `ms`, or less when `signal` aborts (at once if it already has: "abort" fires only once). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Connects to NATS, retrying every `retryMs` (5 s) until it answers; undefined once `signal` aborts. */
export async function connectUntilUp(o: ConnectUntilUpOptions): Promise<NatsConnection | undefined> {
  const clock = o.clock ?? Date.now;
  const retryMs = o.retryMs ?? NATS_CONNECT_RETRY_MS;
  const servers = o.options.servers;
  const since = clock();
  o.logger.info({ servers }, "connecting to NATS (retrying until it answers)");
  while (!o.signal.aborted) {
    try {
      const nc = await (o.connect ?? connect)(o.options);
      if (!o.signal.aborted) return nc;
      await nc.close();
      return undefined;
    } catch (err) {
      if (o.signal.aborted) return undefined;
      // NATS starting beside this process refuses (or has no route yet) for a while: an error only past that.
      const waitedMs = clock() - since;
      const level = connectFailureLevel(waitedMs);
      o.logger[level](
        { err: (err as Error).message, servers, retryInMs: retryMs, waitedMs },
        level === "error"
          ? "cannot connect to NATS for longer than it takes to start; retrying"
          : "NATS not reachable yet (it may be starting); retrying",
      );
      await pause(retryMs, o.signal);
    }
  }
  return undefined;
}
