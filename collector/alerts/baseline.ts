/**
 * A pod's own normal level of one value over a trailing window, from per-bucket means kept in a fixed ring of at
 * most 60 buckets (a minute each for a 1 h window; at least 1 s). The bucket still filling is left out, so a
 * sudden buildup is compared with what came before it. Two readings: the median (churn) and the quiet level
 * (buildups, see quietLevel). Compact: ≈ 500 bytes per pod and rule.
 */
export const BASELINE_BUCKETS = 60;
/**
 * The share of the window completed buckets must cover before the quiet level counts. A pod that starts high
 * would otherwise be its own baseline after one bucket, and one still warming up (a pod the load balancer only
 * begins to send to) would look like a buildup against its first empty minutes; half an hour of an hour's window
 * is long enough to have seen the pod's usual ups and downs, short enough to guard a new pod soon.
 */
export const BASELINE_MATURE_SHARE = 0.5;
/**
 * Which low percentile of the buckets is the quiet level. A leak grows slowly: the median of the last hour
 * follows it halfway up and would absorb a ramp to 10× (it would be 5.5×), while its lowest buckets stay near
 * where the pod was before. Not the minimum: a pod idle for a minute (a restart, a quiet spell) would then have
 * baseline 0 and fire on any level above the floor; the 10th percentile ignores the 5 lowest minutes of 60.
 */
export const QUIET_PERCENTILE = 0.1;

export class Baseline {
  readonly bucketMs: number;
  private readonly size: number;
  private readonly means: Float32Array;
  /** 1 + the bucket number (time ÷ bucketMs: < 2^32 until 2106 with buckets ≥ 1 s) in each slot; 0 when empty. */
  private readonly slots: Uint32Array;
  private current = -1;
  private sum = 0;
  private weight = 0;
  private cachedAt = Number.NaN;
  private cached: { median: number | null; quiet: number | null } = { median: null, quiet: null };

  constructor(readonly windowMs: number) {
    this.bucketMs = Math.max(1000, Math.ceil(windowMs / BASELINE_BUCKETS));
    this.size = Math.max(1, Math.ceil(windowMs / this.bucketMs));
    this.means = new Float32Array(this.size);
    this.slots = new Uint32Array(this.size);
  }

  /** A sample at time `t` (ms), weighted by the window it covers. Samples older than the bucket filling are ignored. */
  add(t: number, value: number, weightMs = 1): void {
    const bucket = Math.floor(t / this.bucketMs);
    if (bucket < this.current) return;
    if (bucket !== this.current) {
      this.flush();
      this.current = bucket;
    }
    const w = Math.max(1, weightMs);
    this.sum += value * w;
    this.weight += w;
  }

  private flush(): void {
    if (this.current < 0 || this.weight === 0) return;
    const slot = this.current % this.size;
    this.means[slot] = this.sum / this.weight;
    this.slots[slot] = this.current + 1;
    this.sum = 0;
    this.weight = 0;
    this.cachedAt = Number.NaN;
  }

  /** The median of the completed buckets within `windowMs` before `t`; null when there are none yet. */
  median(t: number): number | null {
    return this.readings(t).median;
  }

  /**
   * The QUIET_PERCENTILE of the completed buckets within `windowMs` before `t`: what the pod holds when nothing
   * builds up. Null until the buckets cover BASELINE_MATURE_SHARE of the window (no baseline yet).
   */
  quietLevel(t: number): number | null {
    return this.readings(t).quiet;
  }

  private readings(t: number): { median: number | null; quiet: number | null } {
    const bucket = Math.floor(t / this.bucketMs);
    if (bucket === this.cachedAt) return this.cached;
    // A sample that opened a newer bucket completes the one before it.
    if (bucket > this.current && this.weight > 0) this.flush();
    const values: number[] = [];
    for (let i = 0; i < this.size; i++) {
      const b = (this.slots[i] as number) - 1;
      if (b >= 0 && b < bucket && b >= bucket - this.size) values.push(this.means[i] as number);
    }
    values.sort((a, b) => a - b);
    const n = values.length;
    const median =
      n === 0
        ? null
        : n % 2 === 1
          ? (values[(n - 1) / 2] as number)
          : ((values[n / 2 - 1] as number) + (values[n / 2] as number)) / 2;
    const quiet =
      n > 0 && n >= BASELINE_MATURE_SHARE * this.size
        ? (values[Math.floor(QUIET_PERCENTILE * (n - 1))] as number)
        : null;
    this.cachedAt = bucket;
    this.cached = { median, quiet };
    return this.cached;
  }
}
