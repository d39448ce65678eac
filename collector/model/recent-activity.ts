import type { Counters } from "../../agent/wire/counters.js";

/** Recent activity is kept in buckets of this length… */
export const ACTIVITY_BUCKET_MS = 30_000;
const BUCKETS = 32;
/** …for this long: query windows up to here rank pods without decoding their history. */
export const ACTIVITY_HORIZON_MS = ACTIVITY_BUCKET_MS * (BUCKETS - 1);

// Slot layout in one Uint32Array: bucket number, opens, failed connects, covered ms.
const FIELDS = 4;

export interface ActivitySum {
  opens: number;
  failed: number;
  coveredMs: number;
}

/**
 * A pod's connection opens and failed connects in 30 s buckets over the last 16 minutes (512 bytes a pod): what
 * ranking 50,000 pods by churn over a recent window needs, without decoding 50,000 histories. A bucket counts
 * by the window's end, so a sum over "since t" may include up to one bucket before t; callers rank with it and
 * then compute exact figures from the history for the pods they show.
 */
export class RecentActivity {
  private readonly slots = new Uint32Array(BUCKETS * FIELDS);

  add(windowEnd: number, durationMs: number, counters: Counters): void {
    const bucket = Math.floor(windowEnd / ACTIVITY_BUCKET_MS);
    const at = (bucket % BUCKETS) * FIELDS;
    const s = this.slots;
    if (s[at] !== bucket) {
      // A window older than the ring holds goes nowhere; a newer bucket reuses the slot.
      if ((s[at] as number) > bucket) return;
      s[at] = bucket;
      s[at + 1] = 0;
      s[at + 2] = 0;
      s[at + 3] = 0;
    }
    s[at + 1] = (s[at + 1] as number) + counters.active_opens + counters.passive_opens;
    s[at + 2] = (s[at + 2] as number) + counters.failed_connects;
    s[at + 3] = (s[at + 3] as number) + durationMs;
  }

  /** Sums the buckets that end after `since` and are not older than the ring (`out` is reused). */
  sumSince(since: number, newest: number, out: ActivitySum): ActivitySum {
    out.opens = 0;
    out.failed = 0;
    out.coveredMs = 0;
    const last = Math.floor(newest / ACTIVITY_BUCKET_MS);
    // Only the buckets the window spans are looked at (a slot holding another bucket is skipped).
    const first = Math.max(Math.floor(since / ACTIVITY_BUCKET_MS), last - BUCKETS + 1);
    const s = this.slots;
    for (let bucket = first; bucket <= last; bucket++) {
      const at = (bucket % BUCKETS) * FIELDS;
      if (s[at] !== bucket) continue;
      out.opens += s[at + 1] as number;
      out.failed += s[at + 2] as number;
      out.coveredMs += s[at + 3] as number;
    }
    return out;
  }
}
