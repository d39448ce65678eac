// Per-process CPU and memory from /proc, for the benchmark's cost columns.
import { readdir, readFile } from "node:fs/promises";

/** USER_HZ: /proc/<pid>/stat reports times in these ticks (100 on every Linux ABI Node runs on). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** Fields after "pid (comm) ": comm may contain spaces and ')', so split after the last ')'. */
async function statFields(pid: number): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return text?.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** utime + stime of the whole thread group, in clock ticks; undefined once the process is gone. */
export async function cpuTicks(pid: number): Promise<number | undefined> {
  const f = await statFields(pid);
  // stat fields 14 (utime) and 15 (stime); f[0] is field 3.
  return f ? Number(f[11]) + Number(f[12]) : undefined;
}

/** Peak resident set size (VmHWM) in bytes. */
export async function peakRssBytes(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
  const m = text && /^VmHWM:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

export async function commOf(pid: number): Promise<string | undefined> {
  return (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => undefined))?.trim();
}

/** Children of `ppid` whose comm is `comm` (the agent's bpftrace is its child, not ours). */
export async function childrenNamed(ppid: number, comm: string): Promise<number[]> {
  const pids = (await readdir("/proc")).filter((n) => /^\d+$/.test(n)).map(Number);
  const found: number[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      const f = await statFields(pid);
      if (f && Number(f[1]) === ppid && (await commOf(pid)) === comm) found.push(pid);
    }),
  );
  return found;
}

export async function isAlive(pid: number): Promise<boolean> {
  return (await statFields(pid)) !== undefined;
}
