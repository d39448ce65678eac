/**
 * A pod's own normal level of one value: the median of per-bucket means over a trailing window, kept in a
 * fixed ring of at most 60 buckets (a minute each for a 1 h window; at least 1 s). The bucket still filling is
 * left out, so a sudden buildup is compared with what came before it. Compact: ≈ 480 bytes per pod and rule.
 */
export const BASELINE_BUCKETS = 60;

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
  private cached: number | null = null;

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
    this.cachedAt = bucket;
    this.cached = median;
    return median;
  }
}
