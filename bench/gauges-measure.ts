// CPU and wall time of one gauge pass for bench/gauges-bench.ts, and the naive /proc/net/tcp pass it is
// compared with.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { CLOCK_TICKS_PER_SECOND } from "./procfs.js";

/**
 * cutime + cstime of this process (fields 16 and 17 of /proc/self/stat), in clock ticks: the CPU of children
 * that have exited and been waited for (execa waits for every `nsenter … ss` before its promise resolves).
 * Read synchronously so the reading itself does not go through the thread pool being measured.
 */
function childTicks(): number {
  const text = readFileSync("/proc/self/stat", "utf8");
  const f = text.slice(text.lastIndexOf(")") + 2).split(" "); // f[0] is field 3
  return Number(f[13]) + Number(f[14]);
}

export interface Sample {
  /** This node process (all threads, so the libuv pool's file reads too). */
  selfMs: number;
  /** Child processes that ran and exited during the pass (nsenter/ss), 10 ms resolution. */
  childMs: number;
  wallMs: number;
}

export async function measure(pass: () => Promise<void>): Promise<Sample> {
  const ticks0 = childTicks();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await pass();
  const wallMs = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  const ticks = childTicks() - ticks0;
  return {
    selfMs: (cpu.user + cpu.system) / 1000,
    childMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND,
    wallMs,
  };
}

export interface Cell {
  passes: number;
  /** Mean CPU per pass (self + children): a mean, since child CPU comes in whole 10 ms ticks. */
  cpuMs: number;
  selfMs: number;
  childMs: number;
  /** Median wall time per pass (robust against other work on the machine). */
  wallMs: number;
  /** Socket tables read per pass (mean). */
  tablesRead: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function summarize(samples: Sample[], tablesRead: number[]): Cell {
  const selfMs = mean(samples.map((s) => s.selfMs));
  const childMs = mean(samples.map((s) => s.childMs));
  return {
    passes: samples.length,
    cpuMs: selfMs + childMs,
    selfMs,
    childMs,
    wallMs: median(samples.map((s) => s.wallMs)),
    tablesRead: mean(tablesRead),
  };
}

/** /proc/net/tcp `st` column (hex) → state name. */
const PROC_TCP_STATES: Record<string, string> = {
  "01": "ESTABLISHED",
  "02": "SYN_SENT",
  "03": "SYN_RECV",
  "04": "FIN_WAIT1",
  "05": "FIN_WAIT2",
  "06": "TIME_WAIT",
  "07": "CLOSE",
  "08": "CLOSE_WAIT",
  "09": "LAST_ACK",
  "0A": "LISTEN",
  "0B": "CLOSING",
  "0C": "NEW_SYN_RECV",
};

/** What a simple exporter does for one netns: read tcp and tcp6 in full, count sockets per `st`. */
export async function naiveCount(procRoot: string, pid: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const texts = await Promise.all(
    ["tcp", "tcp6"].map((f) => readFile(`${procRoot}/${pid}/net/${f}`, "utf8")),
  );
  for (const text of texts) {
    const lines = text.split("\n");
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      if (!line) continue;
      const st = line.trim().split(/\s+/)[3] ?? "";
      const state = PROC_TCP_STATES[st] ?? st;
      counts.set(state, (counts.get(state) ?? 0) + 1);
    }
  }
  return counts;
}

/** The naive pass over many netns, with as many reads in flight as the gauge reader's concurrency. */
export async function naivePass(
  procRoot: string,
  pids: readonly number[],
  concurrency: number,
): Promise<Map<number, Map<string, number>>> {
  const out = new Map<number, Map<string, number>>();
  const queue = [...pids];
  const worker = async () => {
    for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
      out.set(pid, await naiveCount(procRoot, pid));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}
