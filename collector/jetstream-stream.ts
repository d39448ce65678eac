/** The collector's JetStream streams (summaries, alerts): created when missing, brought to their settings when not. */
import { type JetStreamManager, RetentionPolicy, type StreamConfig } from "@nats-io/jetstream";

const NS_PER_MS = 1_000_000;

export interface StreamSettings {
  name: string;
  subjects: string[];
  retentionMs: number;
  duplicateWindowMs: number;
  /** Size limit in bytes (-1 or absent: none). */
  maxBytes?: number;
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
