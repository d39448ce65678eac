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
 * ranking 50,000 pods by churn over a recent window needs, without decoding 50,000 histories. Query windows
 * start on a bucket boundary (pod-query's windowStart), so the buckets hold exactly the windows of the query.
 */
export class RecentActivity {
  private readonly slots = new Uint32Array(BUCKETS * FIELDS);

  add(windowEnd: number, durationMs: number, counters: Counters): void {
    // Bucket b holds the windows ending in (b × 30 s, (b + 1) × 30 s]: "ended after t" selects whole buckets.
    const bucket = Math.floor((windowEnd - 1) / ACTIVITY_BUCKET_MS);
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

  /**
   * Sums the windows that ended after `since` and by `newest`, as far back as the ring holds (`out` is
   * reused). Exact when `since` is a multiple of the bucket length; otherwise the bucket `since` falls in
   * counts whole.
   */
  sumSince(since: number, newest: number, out: ActivitySum): ActivitySum {
    out.opens = 0;
    out.failed = 0;
    out.coveredMs = 0;
    const last = Math.floor((newest - 1) / ACTIVITY_BUCKET_MS);
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
