/** How long a socket stays in TIME_WAIT (TCP_TIMEWAIT_LEN, fixed in the kernel). */
export const TIME_WAIT_MS = 60_000;
/**
 * How much longer it can last: its timer sits on the timer wheel, which rounds a 60 s timeout up to its level's
 * granularity (2.0 s at HZ=250, 4.1 s at HZ=1000, 5.1 s at HZ=100). A steady churn thus holds up to a tenth
 * more TIME_WAIT sockets than it entered in the last 60 s.
 */
export const TIME_WAIT_SLACK_MS = 6_000;
const MAX_SCALE_UP = (TIME_WAIT_MS + TIME_WAIT_SLACK_MS) / TIME_WAIT_MS;

/** Entries into TIME_WAIT counted in the window that ended `at`. */
interface Entry {
  at: number;
  count: number;
}

/** Drops the entries at or before `cutoff` (their sockets have left TIME_WAIT) and sums the rest. */
function sumSince(list: Entry[], cutoff: number): number {
  while (list.length > 0 && (list[0] as Entry).at <= cutoff) list.shift();
  let sum = 0;
  for (const e of list) sum += e.count;
  return sum;
}

/**
 * TIME_WAIT sockets own no inode and no cgroup, so a pod sharing the host netns cannot be told its own. Its
 * entries into TIME_WAIT (FIN_WAIT2/CLOSING → CLOSE, counted exactly) over the last 60 s are how many it can
 * hold now: the estimate. The host's own entries are kept too, to share the netns's exact count out by them.
 */
export class TimeWaitEstimator {
  private readonly pods = new Map<string, Entry[]>();
  private readonly host: Entry[] = [];
  /** The end of the newest window counted: what the 60 s are counted back from. */
  private countedUntil = Number.NEGATIVE_INFINITY;

  /** `since`: when counting began; sockets that entered TIME_WAIT before it have no entries here. */
  constructor(private readonly since: number) {}

  record(uid: string, at: number, count: number): void {
    this.countedUntil = Math.max(this.countedUntil, at);
    const list = this.pods.get(uid) ?? [];
    if (count > 0) list.push({ at, count });
    this.pods.set(uid, list);
  }

  recordHost(at: number, count: number): void {
    this.countedUntil = Math.max(this.countedUntil, at);
    if (count > 0) this.host.push({ at, count });
  }

  /**
   * The pod's entries over the 60 s before the newest window counted, not before `now`: the window closing now is
   * not counted yet, and counting back from `now` would leave out as many seconds as its gauge pass ran long or
   * its close came late (seconds on a busy machine) while their sockets are in the netns's count.
   */
  estimate(uid: string, now: number): number {
    const list = this.pods.get(uid);
    return list ? sumSince(list, this.cutoff(now)) : 0;
  }

  hostEntries(now: number): number {
    return sumSince(this.host, this.cutoff(now));
  }

  private cutoff(now: number): number {
    return Math.min(now, this.countedUntil) - TIME_WAIT_MS;
  }

  /** Has every TIME_WAIT socket that can exist now entered it since counting began? */
  seenWholeLifetime(now: number): boolean {
    return now - this.since >= TIME_WAIT_MS + TIME_WAIT_SLACK_MS;
  }

  forget(keep: ReadonlySet<string>): void {
    for (const uid of this.pods.keys()) if (!keep.has(uid)) this.pods.delete(uid);
  }
}

/**
 * The host's share of the netns's entries under which the netns's count tells how long the pods' own sockets
 * lasted. Above it the count says more about the host's traffic than the pods': on a busy node the host's own
 * loopback connections leave TIME_WAIT early (tcp_tw_reuse reuses them, RSTs kill them where tcp_rfc1337 is 0)
 * and come in bursts whose sockets are counted before their entries are; sharing that out by entries moved a
 * steady pod's estimate by 14% (issue 15). 2%: what the host can then move a pod's estimate by at most.
 */
export const HOST_SHARE_TRUSTED = 0.02;

/**
 * Shares the netns's exact TIME_WAIT count out between the pods by their estimates. Where the pods make (nearly)
 * all the entries, against all the entries over the same 60 s: scaled down when sockets left early (reused by
 * tw_reuse, killed by RST, dropped for want of buckets), up when they outlive 60 s (the timer's slack, so at most
 * by it, and only once every socket that exists entered while counting). Where the host makes more, each pod keeps
 * its own entries, scaled down only when the pods together would hold more than the netns does. What remains is
 * the host's own.
 */
export function reconcileTimeWait(
  total: number,
  estimates: ReadonlyMap<string, number>,
  hostEntries: number,
  seenWholeLifetime: boolean,
): { pods: Map<string, number>; rest: number } {
  let podEntries = 0;
  for (const n of estimates.values()) podEntries += n;
  const entries = podEntries + hostEntries;
  const scale =
    podEntries === 0
      ? 0
      : hostEntries <= HOST_SHARE_TRUSTED * entries
        ? Math.min(total / entries, seenWholeLifetime ? MAX_SCALE_UP : 1)
        : Math.min(total / podEntries, 1);
  const pods = new Map([...estimates].map(([uid, n]) => [uid, Math.floor(n * scale)]));
  let assigned = 0;
  for (const n of pods.values()) assigned += n;
  return { pods, rest: total - assigned };
}
