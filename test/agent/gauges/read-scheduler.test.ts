import { describe, expect, it } from "vitest";
import { BaselineKeeping } from "../../../agent/gauges/baseline-keeping.js";
import { REBASELINE_MS } from "../../../agent/gauges/derived-gauges.js";
import { parseSockstat } from "../../../agent/gauges/proc-counters.js";
import {
  type BudgetedRead,
  budgetOptionalReads,
  type CheapCounts,
  type KeptNetns,
  type ScheduleInputs,
  scheduleRead,
} from "../../../agent/gauges/read-scheduler.js";
import { parseSsTable } from "../../../agent/gauges/socket-table.js";
import { TransitionLedger } from "../../../agent/gauges/transition-ledger.js";
import { TcpState } from "../../../agent/probe/tcp-state.js";
import { zeroNetnsCounters } from "../../../agent/wire/gauges.js";

/*
 * Whose socket table a pass reads, and why: from the cheap counts, the last pass and the kernel's flows (a
 * real ledger fed by hand, as transitions.bt's flushes feed it).
 */
const { CLOSE, ESTABLISHED, LISTEN, FIN_WAIT1 } = TcpState;
const NS = 4026532001;
const NOW = 1_700_000_000_000;
const TABLE = parseSsTable(
  [
    "LISTEN 0 4096 0.0.0.0:8080 0.0.0.0:*",
    "ESTAB 0 0 10.0.0.1:8080 10.0.0.7:40000",
    "ESTAB 0 0 10.0.0.1:8080 10.0.0.7:40001",
  ].join("\n"),
);

function cheap(o: { inuse?: number; tw?: number; inSegs?: number } = {}): CheapCounts {
  const sockstat = parseSockstat(`TCP: inuse ${o.inuse ?? 3} orphan 0 tw ${o.tw ?? 0} alloc 3 mem 1\n`);
  if (!sockstat) throw new Error("unparsable sockstat");
  return { sockstat, counters: { ...zeroNetnsCounters(), in_segs: o.inSegs ?? 100 }, synRetrans: 0 };
}

/** A ledger that has counted through tick `seq` (each flush: [old, new, count] transitions of NS). */
function ledgerWith(...flushes: [number, number, number][][]): TransitionLedger {
  const ledger = new TransitionLedger();
  ledger.start();
  flushes.forEach((counts, i) => {
    ledger.flushBegin(i + 1, (i + 1) * 1_000_000, false);
    for (const [o, n, c] of counts) ledger.add(NS, o, n, c);
    ledger.flushEnd(i + 1);
  });
  return ledger;
}

/** What a pass kept of NS: its table read `readAgo` ms ago, with a quiet baseline of it if `baseline`. */
function kept(ledger: TransitionLedger, o: { baseline?: boolean; readAgo?: number } = {}): KeptNetns {
  const keeping = new BaselineKeeping(NOW);
  if (o.baseline ?? true) {
    const full = new Float64Array(13);
    full[ESTABLISHED] = 2;
    full[LISTEN] = 1;
    keeping.baseline = {
      full,
      net: Float64Array.from(ledger.netOf(NS)),
      generation: ledger.generation,
      at: NOW,
      exact: true,
      bound: 0,
    };
  }
  return {
    read: {
      ...cheap(),
      table: TABLE,
      lastReadAt: NOW - (o.readAgo ?? 1_000),
      listenFlowAtRead: ledger.netOf(NS)[LISTEN] as number,
      finWait2TimeWaitAtRead: 0,
    },
    peers: { timeWaitListedAt: 0, timeWaitListed: 0, byPeer: new Map() },
    keeping,
  };
}

function inputs(
  ledger: TransitionLedger | null,
  last: KeptNetns | undefined,
  o: Partial<ScheduleInputs> = {},
) {
  return {
    inode: NS,
    last,
    cheap: cheap(),
    hadTransitions: false,
    ledger,
    baseline: ledger ? last?.keeping.current(ledger.generation) : undefined,
    now: NOW,
    ...o,
  };
}

describe("scheduleRead with the ledger", () => {
  it("reads a netns at first sight, seeking a baseline", () => {
    expect(scheduleRead(inputs(ledgerWith([]), undefined))).toEqual({
      derived: false,
      seeking: true,
      reason: "first",
      dropBaseline: false,
    });
  });

  it("derives a busy netns's gauges without reading its table", () => {
    const ledger = ledgerWith([]);
    const last = kept(ledger);
    ledger.flushBegin(2, 2_000_000, false);
    ledger.add(NS, CLOSE, 2, 5);
    ledger.add(NS, 2, ESTABLISHED, 5);
    ledger.flushEnd(2);
    const busy = cheap({ inuse: 8, inSegs: 999 });
    expect(scheduleRead(inputs(ledger, last, { cheap: busy, hadTransitions: true }))).toEqual({
      derived: true,
      seeking: false,
      reason: null,
      dropBaseline: false,
    });
  });

  it("reads a derived netns when a listener opened, and now and then", () => {
    const ledger = ledgerWith([]);
    const last = kept(ledger);
    expect(scheduleRead(inputs(ledger, last, { now: NOW - 1_000 + REBASELINE_MS })).reason).toBe("periodic");
    ledger.flushBegin(2, 2_000_000, false);
    ledger.add(NS, CLOSE, LISTEN, 1);
    ledger.flushEnd(2);
    expect(scheduleRead(inputs(ledger, last))).toMatchObject({ derived: true, reason: "listeners" });
  });

  it("drops a baseline whose derived gauge went negative, and seeks a new one", () => {
    const ledger = ledgerWith([]);
    const last = kept(ledger);
    ledger.flushBegin(2, 2_000_000, false);
    ledger.add(NS, ESTABLISHED, FIN_WAIT1, 3); // 3 left ESTABLISHED, the baseline held 2
    ledger.flushEnd(2);
    expect(scheduleRead(inputs(ledger, last))).toEqual({
      derived: false,
      seeking: true,
      reason: "negative",
      dropBaseline: true,
    });
  });

  it("drops the baseline of an older ledger generation (the count stream broke)", () => {
    const ledger = ledgerWith([]);
    const last = kept(ledger);
    ledger.breakStream();
    expect(scheduleRead(inputs(ledger, last))).toEqual({
      derived: false,
      seeking: true,
      reason: "stream-broke",
      dropBaseline: true,
    });
  });

  it("waits for a seeking netns's pending read unless something changed", () => {
    const ledger = ledgerWith([]);
    const last = kept(ledger, { baseline: false });
    const pending = ledger.mark(NS, 2_500_000);
    if (!pending) throw new Error("expected a mark");
    last.keeping.candidate = { mark: pending, full: new Float64Array(13) };
    expect(scheduleRead(inputs(ledger, last)).reason).toBeNull();
    expect(scheduleRead(inputs(ledger, last, { hadTransitions: true })).reason).toBe("changed");
  });
});

describe("scheduleRead without the ledger", () => {
  it("reads the table whenever something changed, and only then", () => {
    const ledger = ledgerWith([]);
    const last = kept(ledger, { baseline: false });
    expect(scheduleRead(inputs(null, last)).reason).toBeNull();
    expect(scheduleRead(inputs(null, last, { hadTransitions: true })).reason).toBe("changed");
    expect(scheduleRead(inputs(null, last, { cheap: cheap({ tw: 4 }) })).reason).toBe("changed");
  });

  it("reads once when the gauges were derived until now (the last read is old)", () => {
    const last = kept(ledgerWith([]));
    expect(scheduleRead(inputs(null, last))).toMatchObject({ derived: false, reason: "changed" });
  });
});

describe("budgetOptionalReads", () => {
  it("keeps the optional reads to the budget: kernel-missed first, then the longest unread; required ones stay", () => {
    const plans: BudgetedRead[] = [
      { reason: "periodic", lastReadAt: 100 },
      { reason: "periodic", lastReadAt: 50 },
      { reason: "kernel-missed", lastReadAt: 900 },
      { reason: "syn", lastReadAt: 10 },
      { reason: null, lastReadAt: 0 },
    ];
    budgetOptionalReads(plans, 2);
    expect(plans.map((p) => p.reason)).toEqual([null, "periodic", "kernel-missed", "syn", null]);
  });
});
