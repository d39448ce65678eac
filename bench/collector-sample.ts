// What the collector benchmark reads from the collector (/metrics) and from /proc (its CPU and memory).
import { readFile } from "node:fs/promises";
import type { CollectorProcess } from "../test/support/collector-process.js";
import { cpuTicks } from "./procfs.js";

/** The value of a metric line `name value` or `name{…} value`, summed over its label sets. */
export function metricValue(text: string, name: string): number | undefined {
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm");
  let sum: number | undefined;
  for (const m of text.matchAll(re)) sum = (sum ?? 0) + Number(m[1]);
  return sum;
}

/** VmRSS and VmHWM in bytes. */
export async function memoryOf(pid: number): Promise<{ rss: number; hwm: number } | undefined> {
  const text = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
  if (!text) return undefined;
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

export interface Sample {
  /** Wall clock, ms. */
  at: number;
  /** Summaries acked by JetStream so far (publisher side). */
  published: number;
  ingested: number;
  duplicates: number;
  deadLetters: number;
  pending: number;
  trackedPods: number;
  heapUsed: number;
  /** Collector utime+stime, clock ticks. */
  cpuTicks: number;
  natsCpuTicks: number;
  rss: number;
  hwm: number;
  /** How long /metrics took to answer (the collector's event loop is busy while it ingests). */
  scrapeMs: number;
}

/** Every SCRAPE_EVERY-th progress sample scrapes /metrics in full (every 15 s, as Prometheus commonly does). */
export const SCRAPE_EVERY = 3;

/**
 * The collector's progress: with `scrape`, from a full /metrics scrape (timed: 150,000 pod series at the
 * default --max-exported-pods); else from /readyz's ingest details, which cost nothing to serve, so sampling
 * often does not load the collector it measures (heap used and the scrape time are then NaN).
 */
export async function sample(
  collector: CollectorProcess,
  natsPid: number | undefined,
  /** Read once the collector has answered, so published ≥ ingested in the sample. */
  published: () => number,
  scrape = true,
): Promise<Sample> {
  const pid = collector.child.pid as number;
  const t0 = performance.now();
  const res = await collector.get(scrape ? "/metrics" : "/readyz");
  const scrapeMs = scrape ? performance.now() - t0 : Number.NaN;
  if (res.status !== 200)
    throw new Error(`collector ${scrape ? "/metrics" : "/readyz"} answered ${res.status}`);
  const [ticks, natsTicks, mem] = await Promise.all([
    cpuTicks(pid),
    natsPid ? cpuTicks(natsPid) : Promise.resolve(0),
    memoryOf(pid),
  ]);
  if (ticks === undefined || !mem) throw new Error("the collector process is gone");
  const counts = scrape
    ? (() => {
        const m = (name: string) => metricValue(res.text, name) ?? 0;
        return {
          ingested: m("tcpstate_collector_ingested_windows_total"),
          duplicates: m("tcpstate_collector_duplicate_windows_total"),
          deadLetters: m("tcpstate_collector_dead_letters_total"),
          pending: m("tcpstate_collector_consumer_pending_messages"),
          trackedPods: m("tcpstate_collector_tracked_pods"),
          heapUsed: m("tcpstate_collector_nodejs_heap_size_used_bytes"),
        };
      })()
    : {
        ...(res.json() as { details: { ingest: Omit<Sample, "heapUsed"> } }).details.ingest,
        heapUsed: Number.NaN,
      };
  return {
    at: Date.now(),
    published: published(),
    ingested: counts.ingested,
    duplicates: counts.duplicates,
    deadLetters: counts.deadLetters,
    pending: counts.pending,
    trackedPods: counts.trackedPods,
    heapUsed: counts.heapUsed,
    cpuTicks: ticks,
    natsCpuTicks: natsTicks ?? 0,
    rss: mem.rss,
    hwm: mem.hwm,
    scrapeMs,
  };
}
