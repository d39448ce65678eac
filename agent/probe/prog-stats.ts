import { readdir, readFile } from "node:fs/promises";

/** BPF_PROG_TYPE_TRACEPOINT in include/uapi/linux/bpf.h. */
const BPF_PROG_TYPE_TRACEPOINT = 5;

/**
 * A BPF program fd's /proc/<pid>/fdinfo entry → its type and the kernel's count of runs it skipped because
 * another BPF program was already running on that CPU (`recursion_misses`, Linux ≥ 5.12). null: not a program.
 */
export function parseProgFdinfo(text: string): { progType: number; recursionMisses: number } | null {
  const type = /^prog_type:\s*(\d+)$/m.exec(text);
  if (!type) return null;
  const misses = /^recursion_misses:\s*(\d+)$/m.exec(text);
  return { progType: Number(type[1]), recursionMisses: misses ? Number(misses[1]) : 0 };
}

/** Sums the recursion misses of the tracepoint programs a bpftrace process holds; null once it is gone. */
export async function readTracepointMisses(procRoot: string, pid: number): Promise<number | null> {
  let fds: string[];
  try {
    fds = await readdir(`${procRoot}/${pid}/fdinfo`);
  } catch {
    return null;
  }
  let total = 0;
  for (const fd of fds) {
    try {
      const prog = parseProgFdinfo(await readFile(`${procRoot}/${pid}/fdinfo/${fd}`, "utf8"));
      if (prog?.progType === BPF_PROG_TYPE_TRACEPOINT) total += prog.recursionMisses;
    } catch {
      // The fd closed between readdir and read: it held nothing we count.
    }
  }
  return total;
}
