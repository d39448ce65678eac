import type { Counters } from "../../agent/wire/counters.js";
import { opens } from "./churn.js";

/** Recent activity is kept in buckets of this length… */
export const ACTIVITY_BUCKET_MS = 30_000;
const BUCKETS = 32;
/** …for this long: query windows up to here rank pods without decoding their history. */
export const ACTIVITY_HORIZON_MS = ACTIVITY_BUCKET_MS * (BUCKETS - 1);

// Slot layout in one Float64Array: bucket number, opens, failed connects, covered ms.
const FIELDS = 4;

export interface ActivitySum {
  opens: number;
  failed: number;
  coveredMs: number;
  /** Of those, what the bucket `since` falls inside holds: some of its windows may have ended before `since`. */
  partialOpens: number;
  partialFailed: number;
  partialCoveredMs: number;
}

export function emptyActivitySum(): ActivitySum {
  return { opens: 0, failed: 0, coveredMs: 0, partialOpens: 0, partialFailed: 0, partialCoveredMs: 0 };
}

/**
 * A pod's connection opens and failed connects in 30 s buckets over the last 16 minutes (1 KiB a pod): what
 * ranking 50,000 pods by churn over a recent window needs, without decoding 50,000 histories: bucket sums bound
 * each pod's exact figures, and only pods whose bounds reach the top are decoded.
 */
export class RecentActivity {
  // Float64: sums stay exact to 2^53 (a Uint32Array wrapped at 2^32 and ranked a busy pod as idle).
  private readonly slots = new Float64Array(BUCKETS * FIELDS);

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
    s[at + 1] = (s[at + 1] as number) + opens(counters);
    s[at + 2] = (s[at + 2] as number) + counters.failed_connects;
    s[at + 3] = (s[at + 3] as number) + durationMs;
  }

  /**
   * Sums the buckets holding windows that ended after `since` and by `newest`, as far back as the ring holds
   * (`out` is reused). The bucket `since` falls inside is counted whole and reported apart (partial*), so a
   * caller knows the exact sum lies between the total minus that bucket and the total.
   */
  sumSince(since: number, newest: number, out: ActivitySum): ActivitySum {
    out.opens = 0;
    out.failed = 0;
    out.coveredMs = 0;
    out.partialOpens = 0;
    out.partialFailed = 0;
    out.partialCoveredMs = 0;
    const last = Math.floor((newest - 1) / ACTIVITY_BUCKET_MS);
    // Bucket b holds windows ending in (b·30 s, (b+1)·30 s]: the one holding `since` + ε is partial unless
    // `since` is a boundary.
    const partial = since % ACTIVITY_BUCKET_MS === 0 ? -1 : Math.floor(since / ACTIVITY_BUCKET_MS);
    const first = Math.max(Math.floor(since / ACTIVITY_BUCKET_MS), last - BUCKETS + 1);
    const s = this.slots;
    for (let bucket = first; bucket <= last; bucket++) {
      const at = (bucket % BUCKETS) * FIELDS;
      if (s[at] !== bucket) continue;
      const opens = s[at + 1] as number;
      const failed = s[at + 2] as number;
      const covered = s[at + 3] as number;
      out.opens += opens;
      out.failed += failed;
      out.coveredMs += covered;
      if (bucket === partial) {
        out.partialOpens = opens;
        out.partialFailed = failed;
        out.partialCoveredMs = covered;
      }
    }
    return out;
  }
}
