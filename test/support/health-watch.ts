/** Watching a service while a test attacks it: /healthz answered within a second, and its peak memory. */
import { readFile } from "node:fs/promises";

export interface HealthRecord {
  /** /healthz requests made, and those not answered 200 within HEALTH_DEADLINE_MS. */
  checks: number;
  failures: string[];
  slowestMs: number;
  /** The highest VmRSS seen, bytes. */
  peakRss: number;
}

export const HEALTH_DEADLINE_MS = 1000;

/** Resident memory of `pid` in bytes (0 once it is gone). */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
}

/** Polls `baseUrl`/healthz every 200 ms and the process's RSS until `stop()`, which returns what it saw. */
export function watchHealth(baseUrl: string, pid: number): { stop(): Promise<HealthRecord> } {
  const record: HealthRecord = { checks: 0, failures: [], slowestMs: 0, peakRss: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      const res = await fetch(`${baseUrl}/healthz`, {
        signal: AbortSignal.timeout(HEALTH_DEADLINE_MS),
      }).catch((err: Error) => err);
      const ms = performance.now() - t0;
      record.checks++;
      record.slowestMs = Math.max(record.slowestMs, ms);
      if (res instanceof Error) record.failures.push(`${res.name}: ${res.message}`);
      else if (res.status !== 200) record.failures.push(`HTTP ${res.status}`);
      else await res.arrayBuffer();
      record.peakRss = Math.max(record.peakRss, await rssOf(pid));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return record;
    },
  };
}
