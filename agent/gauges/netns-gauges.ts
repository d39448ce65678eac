import type { NetnsHandle } from "../attribution/netns-handle.js";
import { TcpState } from "../probe/tcp-state.js";
import type { GaugeState, NetnsCounters, SocketGauges } from "../wire/gauges.js";
import { BaselineKeeping, type PendingCandidate, type PendingDriftCheck } from "./baseline-keeping.js";
import { deriveSockets, fullSocketsOf } from "./derived-gauges.js";
import { readInuse6, readNetnsCounters } from "./proc-counters.js";
import {
  budgetOptionalReads,
  type CheapCounts,
  type KeptNetns,
  type PlannedReason,
  scheduleRead,
} from "./read-scheduler.js";
import { type Listener, readSocketTable, readSocketTableByPod, type SocketTable } from "./socket-table.js";
import { counterDeltas, wantTimeWaitPeers } from "./table-staleness.js";
import { keepTimeWaitPeers } from "./time-wait-peers.js";
import type { TransitionLedger } from "./transition-ledger.js";

export { DRIFT_CHECK_MS } from "./baseline-keeping.js";

/** What one gauge pass knows of a network namespace. */
export interface NetnsGauges {
  sockets: SocketGauges;
  listeners: Listener[];
  timeWaitByPeer: Map<string, number>;
  /** Counter increase since the previous pass (0 on the first); null for a pod sharing another's netns. */
  counterDeltas: NetnsCounters | null;
  /** The socket table was read in this pass (else the last read still holds, or the gauges are derived). */
  tableRead: boolean;
  /** States whose gauge is an estimate (a hostNetwork pod's TIME_WAIT). */
  estimated?: GaugeState[];
  /** In a netns shared with pods (split by cgroup): each pod's own sockets, by pod UID; the rest above. */
  podTables?: Map<string, SocketTable>;
}

export interface GaugeReaderOptions {
  procRoot: string;
  /** Socket-table reads in flight at once. */
  concurrency: number;
  readTable?: (procRoot: string, handle: NetnsHandle, withTimeWait: boolean) => Promise<SocketTable | null>;
  /** Netns shared with pods told apart by cgroup (the host's, with hostNetwork pods): read split by pod. */
  splitByPod?: (inode: number) => boolean;
  readTableByPod?: typeof readSocketTableByPod;
  clock?: () => number;
  /**
   * The kernel's transition flows: with it, a netns's full-socket gauges are derived from its last table read
   * and the flows since, and its table is read only for what has no transition. Without, every pass reads
   * the table of every netns where something changed.
   */
  ledger?: TransitionLedger;
  /** CLOCK_MONOTONIC in µs (the clock of the ledger's tick times). */
  monoUs?: () => number;
  /** Optional table reads (re-baselines, TIME_WAIT peers) per pass: their cost is bounded by this. */
  optionalReadsPerPass?: number;
}

/** One netns in one pass: what was read cheaply and whether its table is read. */
interface Plan {
  inode: number;
  handle: NetnsHandle;
  cheap: CheapCounts;
  last: KeptNetns | undefined;
  /** The netns's gauges are derived (else: the table whenever something changed). */
  derived: boolean;
  /** The netns seeks a baseline: its table is read every pass, each read a candidate. */
  seeking: boolean;
  reason: PlannedReason | null;
  /** When its table was last read (0: never): the budget reads the longest unread first. */
  lastReadAt: number;
  withTimeWait: boolean;
  table: SocketTable | null;
  podTables?: Map<string, SocketTable>;
  drift?: PendingDriftCheck;
  candidate?: PendingCandidate;
}

const defaultMonoUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * One gauge pass over network namespaces. Cheap per-netns counters every pass (sockstat, snmp, netstat:
 * ≈ 0.1 ms each). The socket table costs a walk of the node-wide hash per netns, so with the transition ledger
 * a netns's full-socket gauges are derived (baseline + exact flows) and its table is read only at first sight,
 * after the count stream broke, when sockstat disagrees, for request socks and listeners' queues while they
 * are non-zero, and now and then (a few per pass). TIME_WAIT always comes from sockstat: exact and current.
 * This class does the reads; what they mean is decided elsewhere: whose table is read (read-scheduler.ts), the
 * baseline kept per netns (baseline-keeping.ts), the TIME_WAIT peers kept between listings (time-wait-peers.ts).
 */
export class NetnsGaugeReader {
  private last = new Map<number, KeptNetns>();
  private readonly readTable: (
    procRoot: string,
    handle: NetnsHandle,
    withTimeWait: boolean,
  ) => Promise<SocketTable | null>;
  private readonly clock: () => number;
  private readonly monoUs: () => number;
  tableReads = 0;
  /** Table reads by reason since start. */
  readonly readsByReason = new Map<string, number>();

  constructor(private readonly opts: GaugeReaderOptions) {
    this.readTable = opts.readTable ?? readSocketTable;
    this.clock = opts.clock ?? Date.now;
    this.monoUs = opts.monoUs ?? defaultMonoUs;
  }

  /**
   * `withTransitions`: netns that counted transitions since the last pass. `kernelMissed`: the kernel skipped
   * tracepoint runs since the last pass (their netns is unknown: those that counted are suspect). `netns`: each
   * netns inode with the handle it is read through.
   */
  async read(
    netns: ReadonlyMap<number, NetnsHandle>,
    withTransitions: ReadonlySet<number>,
    extra: { kernelMissed?: boolean } = {},
  ): Promise<Map<number, NetnsGauges>> {
    const now = this.clock();
    const plans: Plan[] = [];
    for (const [inode, handle] of netns) {
      const plan = await this.plan(
        inode,
        handle,
        withTransitions.has(inode),
        extra.kernelMissed ?? false,
        now,
      );
      if (plan) plans.push(plan);
    }
    budgetOptionalReads(plans, this.opts.optionalReadsPerPass ?? 1);
    const queue = plans.filter((p) => p.reason !== null);
    const worker = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) await this.readTableOf(p);
    };
    await Promise.all(Array.from({ length: this.opts.concurrency }, worker));
    const out = new Map<number, NetnsGauges>();
    for (const p of plans) {
      const g = this.finish(p, now);
      if (g) out.set(p.inode, g);
    }
    for (const inode of this.last.keys()) if (!netns.has(inode)) this.last.delete(inode);
    this.opts.ledger?.retain(new Set(netns.keys()));
    return out;
  }

  /**
   * Reads a netns's cheap counters (and, when due, the sockstat check of its derived total), takes what the ticks
   * settled since the last pass, and decides whether its table is read (read-scheduler.ts).
   */
  private async plan(
    inode: number,
    handle: NetnsHandle,
    hadTransitions: boolean,
    kernelMissed: boolean,
    now: number,
  ): Promise<Plan | null> {
    const ledger = this.opts.ledger;
    const last = this.last.get(inode);
    const generation = ledger?.ready && !this.opts.splitByPod?.(inode) ? ledger.generation : null;
    // A sockstat inuse read lined up with the ticks checks the derived total (resolved in a later pass).
    const checked = last?.keeping.current(generation);
    const driftMark =
      ledger && checked && last?.keeping.driftCheckDue(ledger.transitionsOf(inode), now)
        ? ledger.mark(inode, this.monoUs())
        : null;
    const cheap = await readNetnsCounters(this.opts.procRoot, handle);
    if (!cheap) return null;
    let drift: PendingDriftCheck | undefined;
    if (driftMark && checked) {
      const inuse6 = await readInuse6(this.opts.procRoot, handle);
      driftMark.endUs = this.monoUs();
      if (inuse6 !== null)
        drift = { mark: driftMark, inuse: cheap.sockstat.inuse + inuse6, baseline: checked };
      else driftMark.state = "void";
    }
    if (last) {
      if (kernelMissed && hadTransitions) last.keeping.missed = true;
      if (ledger) last.keeping.resolve(ledger.generation, this.clock());
    }
    const decision = scheduleRead({
      inode,
      last,
      cheap,
      hadTransitions,
      ledger: generation !== null && ledger ? ledger : null,
      baseline: last?.keeping.current(generation),
      now,
    });
    if (decision.dropBaseline) last?.keeping.drop();
    return {
      inode,
      handle,
      cheap,
      last,
      derived: decision.derived,
      seeking: decision.seeking,
      reason: decision.reason,
      lastReadAt: last?.read.lastReadAt ?? 0,
      withTimeWait: false,
      table: null,
      drift,
    };
  }

  private async readTableOf(p: Plan): Promise<void> {
    const reason = p.reason as PlannedReason;
    const now = this.clock();
    p.withTimeWait = wantTimeWaitPeers(p.last?.peers, p.cheap.sockstat.tw, now);
    // Every read but a seeking netns's extra ones is a candidate baseline (a quiet one is taken).
    const mark =
      p.derived || (p.seeking && reason !== "changed")
        ? this.opts.ledger?.mark(p.inode, this.monoUs())
        : null;
    if (this.opts.splitByPod?.(p.inode)) {
      const split = await (this.opts.readTableByPod ?? readSocketTableByPod)(
        this.opts.procRoot,
        p.handle,
        p.withTimeWait,
      );
      p.table = split?.rest ?? null;
      p.podTables = split?.pods;
    } else {
      p.table = await this.readTable(this.opts.procRoot, p.handle, p.withTimeWait);
    }
    if (mark) mark.endUs = this.monoUs();
    if (!p.table) {
      if (mark) mark.state = "void";
      return;
    }
    this.tableReads++;
    this.readsByReason.set(reason, (this.readsByReason.get(reason) ?? 0) + 1);
    const c = p.last?.keeping.candidate;
    if (mark && c?.mark.state !== "waiting") p.candidate = { mark, full: fullSocketsOf(p.table) };
    else if (mark) mark.state = "void";
  }

  private finish(p: Plan, now: number): NetnsGauges | null {
    const { cheap, last, inode } = p;
    const { tw } = cheap.sockstat;
    if (p.reason !== null && !p.table) return null; // its process left between the reads
    const table = p.table ?? last?.read.table;
    if (!table) return null;
    // The peers kept are those last listed (or none once TIME_WAIT is empty), whatever this read listed.
    const peers = keepTimeWaitPeers(
      last?.peers,
      tw,
      p.table && p.withTimeWait ? p.table.timeWaitByPeer : null,
      now,
    );
    const podTables = p.table ? p.podTables : last?.read.podTables;
    const ledger = this.opts.ledger;
    const baseline = p.derived && ledger ? last?.keeping.current(ledger.generation) : undefined;
    const keeping = last?.keeping ?? new BaselineKeeping(now);
    keeping.afterPass(p.derived, p, ledger?.transitionsOf(inode) ?? 0, now);
    this.last.set(inode, {
      read: {
        sockstat: cheap.sockstat,
        counters: cheap.counters,
        synRetrans: cheap.synRetrans,
        table,
        podTables,
        lastReadAt: p.table ? now : (last?.read.lastReadAt ?? 0),
        listenFlowAtRead:
          p.table && ledger
            ? (ledger.netOf(inode)[TcpState.LISTEN] as number)
            : (last?.read.listenFlowAtRead ?? 0),
        finWait2TimeWaitAtRead:
          p.table && ledger ? ledger.finWait2TimeWaitOf(inode) : (last?.read.finWait2TimeWaitAtRead ?? 0),
      },
      peers,
      keeping,
    });
    const sockets =
      baseline && ledger
        ? deriveSockets(baseline, ledger.netOf(inode), {
            requestSocks: table.gauges.SYN_RECV,
            finWait2TimeWait: table.finWait2TimeWait,
            tw,
          })
        : { ...table.gauges, TIME_WAIT: Math.max(0, tw - table.finWait2TimeWait) };
    return {
      sockets,
      listeners: table.listeners,
      timeWaitByPeer: peers.byPeer,
      counterDeltas: counterDeltas(cheap.counters, last?.read.counters),
      tableRead: p.table !== null,
      ...(podTables ? { podTables } : {}),
    };
  }
}
