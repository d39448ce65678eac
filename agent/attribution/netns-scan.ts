import { readdir, readlink, stat } from "node:fs/promises";

/** `net:[4026531840]` (readlink of /proc/<pid>/ns/net) → 4026531840; null for anything else. */
export function parseNetnsLink(link: string): number | null {
  const m = /^net:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : null;
}

export interface NetnsScan {
  /** The network namespace of the host (of pid 1 in `procRoot`). */
  hostInode: number | null;
  /** Each netns inode with the pids in it, lowest first (a pod's sandbox starts first). */
  pidsByInode: Map<number, number[]>;
  /** Each netns bind-mounted under the netns dir (`ip netns add`, CNI's cni-… names) by inode. */
  nameByInode: Map<number, string>;
}

/**
 * One pass over /proc/<pid>/ns/net and the netns dir. Processes come and go during the walk: one that is gone
 * is simply absent. Cost: one readlink per process (≈ 1 ms per 1,000 processes).
 */
export async function scanNetns(procRoot: string, netnsDir: string, selfProc = "/proc"): Promise<NetnsScan> {
  const inodeByPid = new Map<number, number>();
  const entries = await readdir(procRoot);
  const pids = entries
    .filter((e) => e.charCodeAt(0) >= 48 && e.charCodeAt(0) <= 57)
    .map(Number)
    .sort((a, b) => a - b);
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const inode = parseNetnsLink(await readlink(`${procRoot}/${pid}/ns/net`));
        if (inode !== null) inodeByPid.set(pid, inode);
      } catch {
        // exited, or a kernel thread without a readable ns link
      }
    }),
  );
  const pidsByInode = new Map<number, number[]>();
  for (const pid of pids) {
    const inode = inodeByPid.get(pid);
    if (inode === undefined) continue;
    const list = pidsByInode.get(inode);
    if (list) list.push(pid);
    else pidsByInode.set(inode, [pid]);
  }
  // The host's netns is init's; where init's ns links are unreadable (a sandbox under a user namespace),
  // the agent's own, which runs with hostNetwork.
  let hostInode: number | null = null;
  for (const link of [`${procRoot}/1/ns/net`, `${selfProc}/self/ns/net`]) {
    try {
      hostInode = parseNetnsLink(await readlink(link));
      break;
    } catch {
      hostInode = null;
    }
  }
  const nameByInode = new Map<number, string>();
  let names: string[] = [];
  try {
    names = await readdir(netnsDir);
  } catch {
    names = []; // no `ip netns` names on this node
  }
  await Promise.all(
    names.map(async (name) => {
      try {
        // A netns bind mount's inode is the namespace's inode.
        nameByInode.set((await stat(`${netnsDir}/${name}`)).ino, name);
      } catch {
        // deleted meanwhile
      }
    }),
  );
  return { hostInode, pidsByInode, nameByInode };
}

/** How many processes of one netns are tried when the ones before them exited between the scan and the read. */
export const REPRESENTATIVE_TRIES = 3;

/**
 * The processes to read a netns's owner from, in order: the previous representative while it still lives in
 * that netns (a long-lived process: after a PID wrap the lowest pid may be a process about to exit), then the
 * netns's pids lowest first; at most REPRESENTATIVE_TRIES.
 */
export function representativeCandidates(
  pidsInNetns: readonly number[],
  previous: number | undefined,
): number[] {
  const keep = previous !== undefined && pidsInNetns.includes(previous) ? [previous] : [];
  return [...keep, ...pidsInNetns.filter((pid) => pid !== previous)].slice(0, REPRESENTATIVE_TRIES);
}
