import type { GaugeState, NetnsCounterName, NetnsCounters, SocketGauges } from "../wire/gauges.js";
import { readNetnsCounters, type TcpSockstat } from "./proc-counters.js";
import { type Listener, readSocketTable, readSocketTableByPod, type SocketTable } from "./socket-table.js";

/** What one gauge pass knows of a network namespace. */
export interface NetnsGauges {
  sockets: SocketGauges;
  listeners: Listener[];
  timeWaitByPeer: Map<string, number>;
  /** Counter increase since the previous pass (0 on the first); null for a pod sharing another's netns. */
  counterDeltas: NetnsCounters | null;
  /** The socket table was read in this pass (else the last read still holds: nothing changed since). */
  tableRead: boolean;
  /** States whose gauge is an estimate (a hostNetwork pod's TIME_WAIT). */
  estimated?: GaugeState[];
  /** In a netns shared with pods (split by cgroup): each pod's own sockets, by pod UID; the rest above. */
  podTables?: Map<string, SocketTable>;
}

interface Last {
  sockstat: TcpSockstat;
  counters: NetnsCounters;
  table: SocketTable;
  podTables?: Map<string, SocketTable>;
  /** When TIME_WAIT peers were last listed, and how many TIME_WAIT sockets there were then. */
  timeWaitListedAt: number;
  timeWaitListed: number;
}

/** TIME_WAIT peers are listed again after this long, or when the TIME_WAIT count moved by a tenth. */
export const TIME_WAIT_PEERS_MAX_AGE_MS = 30_000;

/** Should this read list TIME_WAIT sockets (to name their peers)? They cost the most when they are many. */
export function wantTimeWaitPeers(last: Last | undefined, tw: number, now: number): boolean {
  if (tw === 0) return false;
  if (!last || last.timeWaitListedAt === 0) return true;
  return (
    now - last.timeWaitListedAt >= TIME_WAIT_PEERS_MAX_AGE_MS ||
    Math.abs(tw - last.timeWaitListed) > Math.max(1, last.timeWaitListed / 10)
  );
}

export interface GaugeReaderOptions {
  procRoot: string;
  /** Socket-table reads in flight at once. */
  concurrency: number;
  readTable?: (procRoot: string, pid: number, withTimeWait: boolean) => Promise<SocketTable | null>;
  /** Netns shared with pods told apart by cgroup (the host's, with hostNetwork pods): read split by pod. */
  splitByPod?: (inode: number) => boolean;
  readTableByPod?: typeof readSocketTableByPod;
  clock?: () => number;
}

/** Did anything that can change a socket's state happen in this netns since the last table read? */
export function tableIsStale(
  last: Last | undefined,
  sockstat: TcpSockstat,
  counters: NetnsCounters,
  hadTransitions: boolean,
): boolean {
  if (!last) return true;
  return (
    hadTransitions ||
    // Every handshake, close and retransmit moves a segment counter; TIME_WAIT expiry moves tw.
    counters.in_segs !== last.counters.in_segs ||
    counters.out_segs !== last.counters.out_segs ||
    sockstat.inuse !== last.sockstat.inuse ||
    sockstat.tw !== last.sockstat.tw ||
    // Request socks expire silently after their last SYN-ACK retransmit: watch them until they are gone.
    last.table.gauges.SYN_RECV > 0
  );
}

function deltas(now: NetnsCounters, before: NetnsCounters | undefined): NetnsCounters {
  const out = { ...now };
  for (const k of Object.keys(out) as NetnsCounterName[]) {
    const d = before ? now[k] - before[k] : 0;
    out[k] = Math.max(d, 0); // a counter that went back belongs to a new netns with a reused inode
  }
  return out;
}

/**
 * One gauge pass over network namespaces. Cheap per-netns counters every pass (sockstat, snmp, netstat:
 * ≈ 0.1 ms each); the socket table only where something changed since it was last read, since its cost grows
 * with every socket on the node. TIME_WAIT always comes from sockstat: exact and current.
 */
export class NetnsGaugeReader {
  private last = new Map<number, Last>();
  private readonly readTable: (
    procRoot: string,
    pid: number,
    withTimeWait: boolean,
  ) => Promise<SocketTable | null>;
  private readonly clock: () => number;
  tableReads = 0;

  constructor(private readonly opts: GaugeReaderOptions) {
    this.readTable = opts.readTable ?? readSocketTable;
    this.clock = opts.clock ?? Date.now;
  }

  async read(
    netns: ReadonlyMap<number, number>,
    withTransitions: ReadonlySet<number>,
  ): Promise<Map<number, NetnsGauges>> {
    const out = new Map<number, NetnsGauges>();
    const queue = [...netns];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [inode, pid] = next;
        const g = await this.readOne(inode, pid, withTransitions.has(inode));
        if (g) out.set(inode, g);
      }
    };
    await Promise.all(Array.from({ length: this.opts.concurrency }, worker));
    for (const inode of this.last.keys()) if (!netns.has(inode)) this.last.delete(inode);
    return out;
  }

  private async readOne(inode: number, pid: number, hadTransitions: boolean): Promise<NetnsGauges | null> {
    const cheap = await readNetnsCounters(this.opts.procRoot, pid);
    if (!cheap) return null;
    const last = this.last.get(inode);
    const { tw } = cheap.sockstat;
    let table = last?.table;
    let tableRead = false;
    let timeWaitListedAt = last?.timeWaitListedAt ?? 0;
    let timeWaitListed = last?.timeWaitListed ?? 0;
    let timeWaitByPeer = tw === 0 ? new Map<string, number>() : (table?.timeWaitByPeer ?? new Map());
    if (tw === 0) {
      // None left: when TIME_WAIT sockets come back, their peers are listed afresh.
      timeWaitListedAt = 0;
      timeWaitListed = 0;
    }
    let podTables = last?.podTables;
    if (!table || tableIsStale(last, cheap.sockstat, cheap.counters, hadTransitions)) {
      const now = this.clock();
      const withTimeWait = wantTimeWaitPeers(last, tw, now);
      let read: SocketTable | null;
      if (this.opts.splitByPod?.(inode)) {
        const split = await (this.opts.readTableByPod ?? readSocketTableByPod)(
          this.opts.procRoot,
          pid,
          withTimeWait,
        );
        read = split?.rest ?? null;
        podTables = split?.pods;
      } else {
        read = await this.readTable(this.opts.procRoot, pid, withTimeWait);
        podTables = undefined;
      }
      if (!read) return null;
      this.tableReads++;
      tableRead = true;
      table = read;
      if (withTimeWait) {
        timeWaitListedAt = now;
        timeWaitListed = tw;
        timeWaitByPeer = read.timeWaitByPeer;
      }
    }
    // The peers kept are those last listed (or none once TIME_WAIT is empty), whatever this read listed.
    table = { ...table, timeWaitByPeer };
    this.last.set(inode, {
      sockstat: cheap.sockstat,
      counters: cheap.counters,
      table,
      podTables,
      timeWaitListedAt,
      timeWaitListed,
    });
    return {
      sockets: { ...table.gauges, TIME_WAIT: Math.max(0, tw - table.finWait2TimeWait) },
      listeners: table.listeners,
      timeWaitByPeer,
      counterDeltas: deltas(cheap.counters, last?.counters),
      tableRead,
      ...(podTables ? { podTables } : {}),
    };
  }
}
