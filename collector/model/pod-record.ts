import { addCounters, zeroCounters } from "../../agent/wire/counters.js";
import { addNetnsCounters, type NetnsCounters, zeroNetnsCounters } from "../../agent/wire/gauges.js";
import type { Counters, PodEntry } from "../../agent/wire/summary.js";
import { RecentActivity } from "./recent-activity.js";
import { EncodedSeries, type PodPoint } from "./series-codec.js";

export type { PodPoint } from "./series-codec.js";

/** Points per encoded run: small enough to re-encode on a late arrival, large enough to amortise overhead. */
const RUN_POINTS = 64;
/** Older history is kept at this resolution. */
export const COARSE_MS = 60_000;

/** Sums points into one per minute: counters added, gauges as at the minute's last window. */
export function downsample(points: readonly PodPoint[], bucketMs: number): PodPoint[] {
  const out: PodPoint[] = [];
  for (const p of points) {
    const last = out.at(-1);
    if (last && Math.floor(last.windowEnd / bucketMs) === Math.floor(p.windowEnd / bucketMs)) {
      addCounters(last.window, p.window);
      last.windowEnd = p.windowEnd;
      last.sockets = p.sockets ?? last.sockets;
      last.complete &&= p.complete;
    } else {
      out.push({ ...p, window: { ...p.window } });
    }
  }
  return out;
}

/**
 * What the collector knows of one pod (or a node's host / unlabelled netns): its identity, its newest entry,
 * its total over every window applied (exact: each window is applied once), and its history — at window
 * resolution for `historyMs`, then per minute until `retentionMs` — encoded compactly. Windows that arrive out
 * of order are placed by time.
 */
export class PodRecord {
  private fine: EncodedSeries[] = [];
  private coarse: EncodedSeries[] = [];
  readonly total: Counters = zeroCounters();
  readonly recent = new RecentActivity();
  /** The netns counters' increases summed over every window applied (null until one carried them). */
  netnsTotal: NetnsCounters | null = null;
  lastSeen = 0;
  /** Length of the newest window, ms. */
  latestWindowMs = 0;
  latest: PodEntry;

  constructor(
    readonly key: string,
    readonly node: string,
    entry: PodEntry,
  ) {
    this.latest = entry;
  }

  apply(
    entry: PodEntry,
    windowStart: number,
    windowEnd: number,
    complete: boolean,
    historyMs: number,
    retentionMs: number,
  ): void {
    addCounters(this.total, entry.window);
    this.recent.add(windowEnd, windowEnd - windowStart, entry.window);
    if (entry.netnsCounters) {
      this.netnsTotal ??= zeroNetnsCounters();
      addNetnsCounters(this.netnsTotal, entry.netnsCounters);
    }
    const point: PodPoint = {
      windowStart,
      windowEnd,
      window: entry.window,
      sockets: entry.sockets,
      complete,
    };
    const last = this.fine.at(-1);
    if (!last || windowEnd >= last.lastEnd) {
      if (!last || last.count >= RUN_POINTS) {
        last?.seal();
        this.fine.push(EncodedSeries.of([point]));
      } else last.append(point);
    } else this.insertLate(point);
    if (windowEnd >= this.lastSeen) {
      this.lastSeen = windowEnd;
      this.latestWindowMs = windowEnd - windowStart;
      this.latest = entry;
    }
    this.age(historyMs, retentionMs);
  }

  /**
   * Takes over `other`'s history and totals: a node's netns row (counted before the agent knew the pod) that a
   * later window names as this pod's, so the pod is one row over the whole query window and nothing is lost.
   */
  absorb(other: PodRecord, historyMs: number, retentionMs: number): void {
    addCounters(this.total, other.total);
    if (other.netnsTotal) {
      this.netnsTotal ??= zeroNetnsCounters();
      addNetnsCounters(this.netnsTotal, other.netnsTotal);
    }
    const theirs = other.points();
    for (const p of theirs) this.recent.add(p.windowEnd, p.windowEnd - p.windowStart, p.window);
    // Their windows end before ours mostly: one rebuild, not a re-encode per late point.
    const merged = [...this.points(), ...theirs].sort((a, b) => a.windowEnd - b.windowEnd);
    this.coarse = [];
    this.fine = [];
    for (let i = 0; i < merged.length; i += RUN_POINTS) {
      this.fine.at(-1)?.seal();
      this.fine.push(EncodedSeries.of(merged.slice(i, i + RUN_POINTS)));
    }
    if (other.lastSeen > this.lastSeen) {
      this.lastSeen = other.lastSeen;
      this.latestWindowMs = other.latestWindowMs;
    }
    this.age(historyMs, retentionMs);
  }

  /** A window older than the newest one: re-encode the run it falls into. */
  private insertLate(point: PodPoint): void {
    let i = this.fine.findIndex((run) => run.lastEnd >= point.windowEnd);
    if (i < 0) i = this.fine.length - 1;
    const points = (this.fine[i] as EncodedSeries).points();
    let j = points.length;
    while (j > 0 && (points[j - 1] as PodPoint).windowEnd > point.windowEnd) j--;
    points.splice(j, 0, point);
    const run = EncodedSeries.of(points);
    if (i < this.fine.length - 1) run.seal();
    this.fine[i] = run;
  }

  /** Runs older than the fine history become per-minute points; per-minute points older than retention go. */
  private age(historyMs: number, retentionMs: number): void {
    const fineHorizon = this.lastSeen - historyMs;
    while (this.fine.length > 1 && (this.fine[0] as EncodedSeries).lastEnd < fineHorizon) {
      const old = (this.fine.shift() as EncodedSeries).points();
      const run = EncodedSeries.of(downsample(old, COARSE_MS));
      run.seal();
      this.coarse.push(run);
    }
    const horizon = this.lastSeen - retentionMs;
    while (this.coarse.length > 0 && (this.coarse[0] as EncodedSeries).lastEnd < horizon) this.coarse.shift();
  }

  /** Every point kept, oldest first (per-minute ones, then window resolution). */
  points(): PodPoint[] {
    return [...this.coarse, ...this.fine].flatMap((run) => run.points());
  }

  /** Counters of the windows that ended after `since`, added into `into`; returns the time they cover (ms). */
  sumSince(since: number, into: Counters): number {
    let covered = 0;
    for (const runs of [this.coarse, this.fine])
      for (const run of runs) if (run.lastEnd > since) covered += run.sumSince(since, into);
    return covered;
  }

  /** The points whose window ends after `since`, oldest first (only the runs that reach past it decoded). */
  pointsSince(since: number): PodPoint[] {
    const runs = [...this.coarse, ...this.fine].filter((run) => run.lastEnd > since);
    return runs.flatMap((run) => run.points()).filter((p) => p.windowEnd > since);
  }

  /** Bytes of encoded history (for the memory metrics). */
  get historyBytes(): number {
    return [...this.coarse, ...this.fine].reduce((n, run) => n + run.byteLength, 0);
  }
}
