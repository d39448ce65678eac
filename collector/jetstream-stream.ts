/** The collector's JetStream streams (summaries, alerts): created when missing, brought to their settings when not. */
import { type JetStreamManager, RetentionPolicy, type StreamConfig } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { backoffDelay } from "../common/backoff.js";

const NS_PER_MS = 1_000_000;

export interface StreamSettings {
  name: string;
  subjects: string[];
  retentionMs: number;
  duplicateWindowMs: number;
  /** Size limit in bytes (-1 or absent: none). */
  maxBytes?: number;
}

/**
 * Runs `setUp` until it succeeds (its result) or `stopped()` (undefined): `initialMs`, then twice as long each
 * time up to 30 s between tries, each failure logged. A stream NATS refuses for now is retried, never fatal.
 */
export async function retrySetUp<T>(
  what: string,
  logger: Logger,
  stopped: () => boolean,
  initialMs: number,
  setUp: () => Promise<T>,
): Promise<T | undefined> {
  for (let n = 0; !stopped(); n++) {
    try {
      return await setUp();
    } catch (err) {
      const delay = backoffDelay(n, { initialMs, maxMs: 30_000 });
      logger.error({ err: (err as Error).message, retryInMs: delay }, `cannot ${what}; retrying`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  return undefined;
}

export async function upsertStream(jsm: JetStreamManager, s: StreamSettings): Promise<void> {
  const config: Partial<StreamConfig> & { name: string } = {
    name: s.name,
    subjects: s.subjects,
    retention: RetentionPolicy.Limits,
    max_age: s.retentionMs * NS_PER_MS,
    // JetStream refuses a duplicate window longer than the stream keeps messages.
    duplicate_window: Math.min(s.duplicateWindowMs, s.retentionMs) * NS_PER_MS,
    ...(s.maxBytes === undefined ? {} : { max_bytes: s.maxBytes }),
  };
  try {
    await jsm.streams.info(s.name);
    await jsm.streams.update(s.name, config);
  } catch (err) {
    if (!/stream not found/i.test((err as Error).message)) throw err;
    await jsm.streams.add(config);
  }
}
