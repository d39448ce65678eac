/** How long a socket stays in TIME_WAIT (TCP_TIMEWAIT_LEN, fixed in the kernel). */
export const TIME_WAIT_MS = 60_000;

/**
 * TIME_WAIT sockets own no inode and no cgroup, so a pod sharing the host netns cannot be told its own. Its
 * entries into TIME_WAIT (FIN_WAIT2/CLOSING → CLOSE, counted exactly) over the last 60 s are how many it can
 * hold now: the estimate.
 */
export class TimeWaitEstimator {
  private readonly entries = new Map<string, { at: number; count: number }[]>();

  record(uid: string, at: number, count: number): void {
    const list = this.entries.get(uid) ?? [];
    if (count > 0) list.push({ at, count });
    this.entries.set(uid, list);
  }

  estimate(uid: string, now: number): number {
    const list = this.entries.get(uid);
    if (!list) return 0;
    while (list.length > 0 && (list[0] as { at: number }).at <= now - TIME_WAIT_MS) list.shift();
    return list.reduce((sum, e) => sum + e.count, 0);
  }

  forget(keep: ReadonlySet<string>): void {
    for (const uid of this.entries.keys()) if (!keep.has(uid)) this.entries.delete(uid);
  }
}

/**
 * Scales the pods' estimates down so that together they never exceed the netns's exact TIME_WAIT count (some
 * left early: reused by tw_reuse, killed by RST); what remains is the host's own.
 */
export function reconcileTimeWait(
  total: number,
  estimates: ReadonlyMap<string, number>,
): { pods: Map<string, number>; rest: number } {
  const sum = [...estimates.values()].reduce((a, b) => a + b, 0);
  const scale = sum > total ? total / sum : 1;
  const pods = new Map([...estimates].map(([uid, n]) => [uid, Math.floor(n * scale)]));
  const assigned = [...pods.values()].reduce((a, b) => a + b, 0);
  return { pods, rest: total - assigned };
}
