import type { NetnsHandle } from "../attribution/netns-handle.js";
import { TcpState } from "../probe/tcp-state.js";
import type { GaugeState, NetnsCounters, SocketGauges } from "../wire/gauges.js";
import {
  adoptBaseline,
  type Baseline,
  derivedNegative,
  deriveSockets,
  driftFailed,
  dropsBaseline,
  fullSocketsOf,
  OPTIONAL_REASONS,
  type ReadReason,
  readReason,
  type Seeking,
  seekBaseline,
} from "./derived-gauges.js";
import { readInuse6, readNetnsCounters, type TcpSockstat } from "./proc-counters.js";
import { type Listener, readSocketTable, readSocketTableByPod, type SocketTable } from "./socket-table.js";
import {
  counterDeltas,
  SYN_PRESSURE,
  type TimeWaitListing,
  tableIsStale,
  wantTimeWaitPeers,
} from "./table-staleness.js";
import type { LedgerMark, TransitionLedger } from "./transition-ledger.js";

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

interface Last extends TimeWaitListing {
  sockstat: TcpSockstat;
  counters: NetnsCounters;
  synRetrans: number;
  table: SocketTable;
  podTables?: Map<string, SocketTable>;
  /** Derived gauges (agent/gauges/derived-gauges.ts): the table read they start from. */
  baseline?: Baseline;
  /** A table read waiting for the ticks around it, to become the baseline. */
  candidate?: { mark: LedgerMark; full: Float64Array };
  /** No usable baseline: the busy reads made to find one. */
  seek?: Seeking;
  /** A sockstat inuse read waiting for the ticks around it, to check the derived total. */
  drift?: { mark: LedgerMark; inuse: number; baseline: Baseline };
  driftFailed: boolean;
  driftCheckedAt: number;
  driftCheckedTransitions: number;
  lastReadAt: number;
  /** The ledger's LISTEN flow when the table was last read: a listener opened or closed since if it moved. */
  listenFlowAtRead: number;
  /** The ledger's count of FIN_WAIT2 timewait socks made, when the table was last read. */
  finWait2TimeWaitAtRead: number;
  /** The kernel skipped tracepoint runs while this netns counted: its flows may miss some. */
  missed: boolean;
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

/** A quiet netns's derived total is checked against sockstat at least this often. */
export const DRIFT_CHECK_MS = 60_000;

/** One netns in one pass: what was read cheaply and whether its table is read. */
interface Plan {
  inode: number;
  handle: NetnsHandle;
  cheap: { sockstat: TcpSockstat; counters: NetnsCounters; synRetrans: number };
  last: Last | undefined;
  hadTransitions: boolean;
  /** The netns's gauges are derived (else: the table whenever something changed). */
  derived: boolean;
  /** The netns seeks a baseline: its table is read every pass, each read a candidate. */
  seeking: boolean;
  reason: ReadReason | "changed" | null;
  withTimeWait: boolean;
  table: SocketTable | null;
  podTables?: Map<string, SocketTable>;
  drift?: Last["drift"];
  candidate?: Last["candidate"];
}

const defaultMonoUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * One gauge pass over network namespaces. Cheap per-netns counters every pass (sockstat, snmp, netstat:
 * ≈ 0.1 ms each). The socket table costs a walk of the node-wide hash per netns, so with the transition ledger
 * a netns's full-socket gauges are derived (baseline + exact flows) and its table is read only at first sight,
 * after the count stream broke, when sockstat disagrees, for request socks and listeners' queues while they
 * are non-zero, and now and then (a few per pass). TIME_WAIT always comes from sockstat: exact and current.
 */
export class NetnsGaugeReader {
  private last = new Map<number, Last>();
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
    this.budget(plans);
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

  /** Keeps the optional reads of this pass to the budget: kernel-missed first, then the longest unread. */
  private budget(plans: Plan[]): void {
    const rank = (r: Plan["reason"]) => OPTIONAL_REASONS.indexOf(r as ReadReason);
    const optional = plans
      .filter((p) => rank(p.reason) >= 0)
      .sort(
        (a, b) => rank(a.reason) - rank(b.reason) || (a.last?.lastReadAt ?? 0) - (b.last?.lastReadAt ?? 0),
      );
    for (const p of optional.slice(this.opts.optionalReadsPerPass ?? 1)) p.reason = null;
  }

  private async plan(
    inode: number,
    handle: NetnsHandle,
    hadTransitions: boolean,
    kernelMissed: boolean,
    now: number,
  ): Promise<Plan | null> {
    const ledger = this.opts.ledger;
    const last = this.last.get(inode);
    const derivable = !!ledger?.ready && !this.opts.splitByPod?.(inode);
    const usable =
      derivable && last?.baseline?.generation === ledger?.generation ? last?.baseline : undefined;
    // A sockstat inuse read lined up with the ticks checks the derived total (resolved in a later pass).
    const driftDue =
      usable &&
      last &&
      !last.drift &&
      (ledger?.transitionsOf(inode) !== last.driftCheckedTransitions ||
        now - last.driftCheckedAt >= DRIFT_CHECK_MS);
    const driftMark = driftDue ? ledger?.mark(inode, this.monoUs()) : null;
    const cheap = await readNetnsCounters(this.opts.procRoot, handle);
    if (!cheap) return null;
    let drift: Last["drift"];
    if (driftMark && usable) {
      const inuse6 = await readInuse6(this.opts.procRoot, handle);
      driftMark.endUs = this.monoUs();
      if (inuse6 !== null)
        drift = { mark: driftMark, inuse: cheap.sockstat.inuse + inuse6, baseline: usable };
      else driftMark.state = "void";
    }
    if (last) {
      if (kernelMissed && hadTransitions) last.missed = true;
      this.resolve(last);
    }
    const baseline =
      derivable && last?.baseline?.generation === ledger?.generation ? last?.baseline : undefined;
    const { tw } = cheap.sockstat;
    const plan: Plan = {
      inode,
      handle,
      cheap,
      last,
      hadTransitions,
      derived: false,
      seeking: false,
      reason: null,
      withTimeWait: false,
      table: null,
      drift,
    };
    const stale = !last || tableIsStale(last, cheap.sockstat, cheap.counters, hadTransitions);
    if (!derivable || !ledger) {
      // Gauges were derived until now (the count stream stopped): the last table read is old.
      if (stale || last?.baseline) plan.reason = "changed";
      return plan;
    }
    let seekReason: ReadReason = last ? "seek" : "first";
    if (last?.baseline && !baseline) {
      last.baseline = undefined; // the count stream broke since it was taken
      last.seek = { attempts: 0 };
      seekReason = "stream-broke";
    }
    if (last && baseline) {
      const net = ledger.netOf(inode);
      const synMoved =
        cheap.synRetrans !== last.synRetrans ||
        SYN_PRESSURE.some((k) => cheap.counters[k] !== last.counters[k]);
      const reason = readReason({
        baseline,
        generation: ledger.generation,
        driftFailed: last.driftFailed,
        negative: derivedNegative(baseline, net),
        synMoved,
        requestSocks: last.table.gauges.SYN_RECV,
        acceptQueued: last.table.listeners.reduce((sum, l) => sum + l.acceptQueue, 0),
        finWait2TimeWait: last.table.finWait2TimeWait,
        listenersMoved: net[TcpState.LISTEN] !== last.listenFlowAtRead,
        finWait2TimeWaitMade: ledger.finWait2TimeWaitOf(inode) !== last.finWait2TimeWaitAtRead,
        tw,
        kernelMissed: last.missed,
        timeWaitPeersWanted: wantTimeWaitPeers(last, tw, now),
        lastReadAt: last.lastReadAt,
        now,
      });
      if (!dropsBaseline(reason)) {
        plan.derived = true;
        plan.reason = reason;
        return plan;
      }
      // The derived gauges are wrong: back to reading the table until a new baseline is found.
      last.baseline = undefined;
      last.seek = { attempts: 0 };
      last.driftFailed = false;
      seekReason = reason as ReadReason;
    }
    plan.seeking = true;
    const pending = last?.candidate?.mark.state === "waiting";
    if (!pending) plan.reason = seekReason;
    else if (stale) plan.reason = "changed";
    return plan;
  }

  /** Takes what the ticks have settled since the last pass: a candidate baseline, a drift check. */
  private resolve(last: Last): void {
    const ledger = this.opts.ledger;
    if (!ledger) return;
    const c = last.candidate;
    if (c && c.mark.state !== "waiting") {
      last.candidate = undefined;
      if (c.mark.state === "resolved" && c.mark.net) {
        const before = last.baseline;
        const candidate = {
          full: c.full,
          net: c.mark.net,
          generation: c.mark.generation,
          transitionsDuring: c.mark.transitionsDuring,
        };
        if (before?.generation === ledger.generation) {
          last.baseline = adoptBaseline(before, candidate, ledger.generation, this.clock());
        } else {
          const sought = seekBaseline(
            last.seek ?? { attempts: 0 },
            candidate,
            ledger.generation,
            this.clock(),
          );
          last.seek = sought.seek;
          if (sought.baseline) last.baseline = sought.baseline;
        }
        if (last.baseline !== before) {
          last.driftFailed = false;
          last.missed = false;
        }
      }
    }
    const d = last.drift;
    if (d && d.mark.state !== "waiting") {
      last.drift = undefined;
      if (d.mark.state === "resolved" && d.mark.net && d.baseline === last.baseline) {
        if (driftFailed(d.baseline, d.mark.net, d.inuse, d.mark.churnDuring)) last.driftFailed = true;
      }
    }
  }

  private async readTableOf(p: Plan): Promise<void> {
    const reason = p.reason as ReadReason | "changed";
    const now = this.clock();
    p.withTimeWait = wantTimeWaitPeers(p.last, p.cheap.sockstat.tw, now);
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
    const c = p.last?.candidate;
    if (mark && c?.mark.state !== "waiting") p.candidate = { mark, full: fullSocketsOf(p.table) };
    else if (mark) mark.state = "void";
  }

  private finish(p: Plan, now: number): NetnsGauges | null {
    const { cheap, last, inode } = p;
    const { tw } = cheap.sockstat;
    if (p.reason !== null && !p.table) return null; // its process left between the reads
    let table = p.table ?? last?.table;
    if (!table) return null;
    let timeWaitListedAt = last?.timeWaitListedAt ?? 0;
    let timeWaitListed = last?.timeWaitListed ?? 0;
    let timeWaitByPeer = tw === 0 ? new Map<string, number>() : (last?.table.timeWaitByPeer ?? new Map());
    if (tw === 0) {
      // None left: when TIME_WAIT sockets come back, their peers are listed afresh.
      timeWaitListedAt = 0;
      timeWaitListed = 0;
    }
    if (p.table && p.withTimeWait) {
      timeWaitListedAt = now;
      timeWaitListed = tw;
      timeWaitByPeer = p.table.timeWaitByPeer;
    }
    // The peers kept are those last listed (or none once TIME_WAIT is empty), whatever this read listed.
    table = { ...table, timeWaitByPeer };
    const podTables = p.table ? p.podTables : last?.podTables;
    const ledger = this.opts.ledger;
    const baseline =
      p.derived && ledger && last?.baseline?.generation === ledger.generation ? last.baseline : undefined;
    const next: Last = {
      sockstat: cheap.sockstat,
      counters: cheap.counters,
      synRetrans: cheap.synRetrans,
      table,
      podTables,
      timeWaitListedAt,
      timeWaitListed,
      baseline: p.derived ? last?.baseline : undefined,
      candidate: p.candidate ?? last?.candidate,
      seek: last?.seek,
      drift: p.drift ?? last?.drift,
      driftFailed: last?.driftFailed ?? false,
      driftCheckedAt: p.drift ? now : (last?.driftCheckedAt ?? now),
      driftCheckedTransitions: p.drift
        ? (ledger?.transitionsOf(inode) ?? 0)
        : (last?.driftCheckedTransitions ?? -1),
      lastReadAt: p.table ? now : (last?.lastReadAt ?? 0),
      listenFlowAtRead:
        p.table && ledger ? (ledger.netOf(inode)[TcpState.LISTEN] as number) : (last?.listenFlowAtRead ?? 0),
      finWait2TimeWaitAtRead:
        p.table && ledger ? ledger.finWait2TimeWaitOf(inode) : (last?.finWait2TimeWaitAtRead ?? 0),
      missed: last?.missed ?? false,
    };
    this.last.set(inode, next);
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
      timeWaitByPeer,
      counterDeltas: counterDeltas(cheap.counters, last?.counters),
      tableRead: p.table !== null,
      ...(podTables ? { podTables } : {}),
    };
  }
}
