import { addCounters, zeroCounters } from "../../agent/wire/counters.js";
import type { Counters, PodEntry } from "../../agent/wire/summary.js";

/** One window of one pod, as the collector keeps it. */
export interface PodPoint {
  windowStart: number;
  windowEnd: number;
  window: Counters;
  sockets: PodEntry["sockets"];
  complete: boolean;
}

/**
 * What the collector knows of one pod (or a node's host / unlabelled netns): its identity, its points in time
 * order (out-of-order windows are placed by time) within the history kept, and its total over every window
 * applied — exact, since each window is applied once.
 */
export class PodRecord {
  readonly points: PodPoint[] = [];
  readonly total: Counters = zeroCounters();
  lastSeen = 0;
  latest: PodEntry;

  constructor(
    readonly key: string,
    readonly node: string,
    entry: PodEntry,
  ) {
    this.latest = entry;
  }

  apply(entry: PodEntry, windowStart: number, windowEnd: number, complete: boolean, historyMs: number): void {
    addCounters(this.total, entry.window);
    const point: PodPoint = {
      windowStart,
      windowEnd,
      window: entry.window,
      sockets: entry.sockets,
      complete,
    };
    let i = this.points.length;
    while (i > 0 && (this.points[i - 1] as PodPoint).windowEnd > windowEnd) i--;
    this.points.splice(i, 0, point);
    if (windowEnd >= this.lastSeen) {
      this.lastSeen = windowEnd;
      this.latest = entry;
    }
    const horizon = this.lastSeen - historyMs;
    let drop = 0;
    while (drop < this.points.length && (this.points[drop] as PodPoint).windowEnd < horizon) drop++;
    if (drop > 0) this.points.splice(0, drop);
  }
}
