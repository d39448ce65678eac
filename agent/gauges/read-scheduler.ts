import { TcpState } from "../probe/tcp-state.js";
import type { NetnsCounters } from "../wire/gauges.js";
import type { BaselineKeeping } from "./baseline-keeping.js";
import {
  type Baseline,
  derivedNegative,
  dropsBaseline,
  OPTIONAL_REASONS,
  type ReadReason,
  readReason,
} from "./derived-gauges.js";
import type { TcpSockstat } from "./proc-counters.js";
import type { SocketTable } from "./socket-table.js";
import { type LastSeen, SYN_PRESSURE, tableIsStale, wantTimeWaitPeers } from "./table-staleness.js";
import type { TimeWaitPeers } from "./time-wait-peers.js";
import type { TransitionLedger } from "./transition-ledger.js";

/*
 * Whose socket table is read in a pass, and why (docs/design.md, "Gauges"): the table walks the node-wide hash,
 * so it is read only where the cheap counters or the baseline ask for it, and optional reads are kept to a
 * budget. Pure decisions; the reader does the reads.
 */

/** The cheap per-netns counts of a pass (sockstat, snmp, netstat). */
export interface CheapCounts {
  sockstat: TcpSockstat;
  counters: NetnsCounters;
  synRetrans: number;
}

/** What the reader kept of a netns's last pass: its cheap counts and its last table read. */
export interface LastRead extends LastSeen {
  synRetrans: number;
  podTables?: Map<string, SocketTable>;
  /** When the table was last read (clock ms; 0: never). */
  lastReadAt: number;
  /** The ledger's LISTEN flow when the table was last read: a listener opened or closed since if it moved. */
  listenFlowAtRead: number;
  /** The ledger's count of FIN_WAIT2 timewait socks made, when the table was last read. */
  finWait2TimeWaitAtRead: number;
}

/** Everything kept of a netns between passes, one record per concern. */
export interface KeptNetns {
  read: LastRead;
  peers: TimeWaitPeers;
  keeping: BaselineKeeping;
}

/** Why a netns's table is read: a reason of derived gauges, or "changed" (read whenever something changed). */
export type PlannedReason = ReadReason | "changed";

export interface ReadDecision {
  /** The netns's gauges are derived in this pass (else: from its table, read whenever something changed). */
  derived: boolean;
  /** The netns seeks a baseline: its table is read every pass, each read a candidate. */
  seeking: boolean;
  reason: PlannedReason | null;
  /** The baseline is wrong or void: the netns drops it and seeks a new one. */
  dropBaseline: boolean;
}

export interface ScheduleInputs {
  inode: number;
  last: KeptNetns | undefined;
  cheap: CheapCounts;
  hadTransitions: boolean;
  /** The kernel's flows; null when this netns's gauges cannot be derived (no ledger ready, split by cgroup). */
  ledger: Pick<TransitionLedger, "generation" | "netOf" | "finWait2TimeWaitOf"> | null;
  /** The baseline of the ledger's current generation, after this pass's settled reads were taken. */
  baseline: Baseline | undefined;
  now: number;
}

/** Whether, and why, a netns's table is read in this pass (before the budget). */
export function scheduleRead(i: ScheduleInputs): ReadDecision {
  const { last, cheap, ledger, baseline } = i;
  const stale = !last || tableIsStale(last.read, cheap.sockstat, cheap.counters, i.hadTransitions);
  if (!ledger) {
    // Gauges were derived until now (the count stream stopped): the last table read is old.
    const reason = stale || last?.keeping.baseline ? "changed" : null;
    return { derived: false, seeking: false, reason, dropBaseline: false };
  }
  let seekReason: ReadReason = last ? "seek" : "first";
  let dropBaseline = false;
  if (last?.keeping.baseline && !baseline) {
    dropBaseline = true; // the count stream broke since it was taken
    seekReason = "stream-broke";
  }
  if (last && baseline) {
    const net = ledger.netOf(i.inode);
    const synMoved =
      cheap.synRetrans !== last.read.synRetrans ||
      SYN_PRESSURE.some((k) => cheap.counters[k] !== last.read.counters[k]);
    const reason = readReason({
      baseline,
      generation: ledger.generation,
      driftFailed: last.keeping.driftFailed,
      negative: derivedNegative(baseline, net),
      synMoved,
      requestSocks: last.read.table.gauges.SYN_RECV,
      acceptQueued: last.read.table.listeners.reduce((sum, l) => sum + l.acceptQueue, 0),
      finWait2TimeWait: last.read.table.finWait2TimeWait,
      listenersMoved: net[TcpState.LISTEN] !== last.read.listenFlowAtRead,
      finWait2TimeWaitMade: ledger.finWait2TimeWaitOf(i.inode) !== last.read.finWait2TimeWaitAtRead,
      tw: cheap.sockstat.tw,
      kernelMissed: last.keeping.missed,
      timeWaitPeersWanted: wantTimeWaitPeers(last.peers, cheap.sockstat.tw, i.now),
      lastReadAt: last.read.lastReadAt,
      now: i.now,
    });
    if (!dropsBaseline(reason)) return { derived: true, seeking: false, reason, dropBaseline: false };
    dropBaseline = true;
    seekReason = reason as ReadReason;
  }
  // A read still waiting for its ticks is the candidate: another one is made only if something changed.
  const pending = last?.keeping.candidate?.mark.state === "waiting";
  const reason = !pending ? seekReason : stale ? "changed" : null;
  return { derived: false, seeking: true, reason, dropBaseline };
}

/** A netns's planned read, as the budget sees it. */
export interface BudgetedRead {
  reason: PlannedReason | null;
  /** When its table was last read (0: never). */
  lastReadAt: number;
}

/**
 * Keeps the optional reads of a pass to `perPass`: kernel-missed first, then the longest unread; the others
 * lose their reason (not read in this pass).
 */
export function budgetOptionalReads(plans: BudgetedRead[], perPass: number): void {
  const rank = (r: PlannedReason | null) => OPTIONAL_REASONS.indexOf(r as ReadReason);
  const optional = plans
    .filter((p) => rank(p.reason) >= 0)
    .sort((a, b) => rank(a.reason) - rank(b.reason) || a.lastReadAt - b.lastReadAt);
  for (const p of optional.slice(perPass)) p.reason = null;
}
