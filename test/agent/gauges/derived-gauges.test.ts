import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  adoptBaseline,
  type Baseline,
  type Candidate,
  derivedNegative,
  derivedTotal,
  deriveSockets,
  driftFailed,
  dropsBaseline,
  fullSocketsOf,
  REBASELINE_MS,
  type ReadInputs,
  readReason,
  SEEK_ATTEMPTS,
  type Seeking,
  seekBaseline,
  UNCONFIRMED_RETRY_MS,
} from "../../../agent/gauges/derived-gauges.js";
import { parseSsTable } from "../../../agent/gauges/socket-table.js";
import { STATE_SLOTS, TransitionLedger } from "../../../agent/gauges/transition-ledger.js";
import { TcpState } from "../../../agent/probe/tcp-state.js";

const { CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, LISTEN } =
  TcpState;

// test/fixtures/ss: one netns's `ss -Htane`-style table (listeners, connections, request socks, TIME_WAIT).
const ssFull = readFileSync(new URL("../../fixtures/ss/ss-Htan.txt", import.meta.url), "utf8");
const table = parseSsTable(ssFull);

const zeros = () => new Float64Array(STATE_SLOTS);
const baselineOf = (full: Float64Array, over: Partial<Baseline> = {}): Baseline => ({
  full,
  net: zeros(),
  generation: 1,
  at: 0,
  exact: true,
  bound: 0,
  ...over,
});
/** Flows after `moves` [old, new, count] from nothing, as the ledger sums them. */
function flows(moves: [number, number, number][]): Float64Array {
  const l = new TransitionLedger();
  for (const [o, n, c] of moves) l.add(1, o, n, c);
  return l.netOf(1).slice();
}

describe("fullSocketsOf: a table's full sockets", () => {
  it("takes every state's lines but SYN-RECV (request socks) and FIN-WAIT-2 timewait socks", () => {
    const v = fullSocketsOf(table);
    expect(v[ESTABLISHED]).toBe(table.gauges.ESTABLISHED);
    expect(v[LISTEN]).toBe(table.gauges.LISTEN);
    expect(v[CLOSE_WAIT]).toBe(table.gauges.CLOSE_WAIT);
    expect(table.gauges.SYN_RECV).toBeGreaterThan(0);
    expect(v[SYN_RECV]).toBe(0);
    expect(v[FIN_WAIT2]).toBe(table.gauges.FIN_WAIT2 - table.finWait2TimeWait);
  });
});

describe("deriveSockets: the table's gauges + the flows since", () => {
  it("equals the table itself with no flows (TIME_WAIT from tw, request socks and timewait FIN_WAIT2 kept)", () => {
    const b = baselineOf(fullSocketsOf(table));
    const tw = table.gauges.TIME_WAIT + table.finWait2TimeWait;
    const g = deriveSockets(b, b.net, {
      requestSocks: table.gauges.SYN_RECV,
      finWait2TimeWait: table.finWait2TimeWait,
      tw,
    });
    expect(g).toEqual(table.gauges);
  });

  it("follows connections through their states", () => {
    const full = zeros();
    full[LISTEN] = 1;
    full[ESTABLISHED] = 2;
    const b = baselineOf(full);
    // 5 connects (1 still in SYN_SENT), 3 accepted children, 2 connections closing actively, 1 passively.
    const net = flows([
      [CLOSE, SYN_SENT, 5],
      [SYN_SENT, ESTABLISHED, 4],
      [LISTEN, SYN_RECV, 3],
      [SYN_RECV, ESTABLISHED, 3],
      [ESTABLISHED, FIN_WAIT1, 2],
      [FIN_WAIT1, FIN_WAIT2, 2],
      [FIN_WAIT2, CLOSE, 1],
      [ESTABLISHED, CLOSE_WAIT, 1],
      [CLOSE_WAIT, LAST_ACK, 1],
    ]);
    const g = deriveSockets(b, net, { requestSocks: 4, finWait2TimeWait: 0, tw: 1 });
    expect(g).toEqual({
      ESTABLISHED: 2 + 4 + 3 - 2 - 1,
      SYN_SENT: 1,
      SYN_RECV: 4,
      FIN_WAIT1: 0,
      FIN_WAIT2: 1,
      TIME_WAIT: 1,
      CLOSE_WAIT: 0,
      LAST_ACK: 1,
      CLOSING: 0,
      LISTEN: 1,
    });
    // LISTEN + ESTABLISHED + SYN_SENT + FIN_WAIT2 + LAST_ACK
    expect(derivedTotal(b, net)).toBe(1 + 6 + 1 + 1 + 1);
  });

  it("starts from the baseline's flows, not from 0", () => {
    const full = zeros();
    full[ESTABLISHED] = 10;
    const b = baselineOf(full, { net: flows([[CLOSE, ESTABLISHED, 7]]) });
    const net = flows([[CLOSE, ESTABLISHED, 9]]);
    expect(deriveSockets(b, net, { requestSocks: 0, finWait2TimeWait: 0, tw: 0 }).ESTABLISHED).toBe(12);
  });

  it("splits tw into FIN_WAIT2 timewait socks (at most tw) and TIME_WAIT", () => {
    const b = baselineOf(zeros());
    expect(deriveSockets(b, b.net, { requestSocks: 0, finWait2TimeWait: 3, tw: 10 })).toMatchObject({
      FIN_WAIT2: 3,
      TIME_WAIT: 7,
    });
    expect(deriveSockets(b, b.net, { requestSocks: 0, finWait2TimeWait: 3, tw: 2 })).toMatchObject({
      FIN_WAIT2: 2,
      TIME_WAIT: 0,
    });
  });

  it("clamps a gauge that went below 0 to 0; below the bound it is wrong", () => {
    const b = baselineOf(zeros());
    const net = flows([[SYN_SENT, ESTABLISHED, 1]]);
    expect(deriveSockets(b, net, { requestSocks: 0, finWait2TimeWait: 0, tw: 0 }).SYN_SENT).toBe(0);
    expect(derivedNegative(b, net)).toBe(true);
    expect(derivedNegative({ ...b, exact: false, bound: 1 }, net)).toBe(false);
    expect(derivedNegative({ ...b, exact: false, bound: 1 }, flows([[SYN_SENT, ESTABLISHED, 2]]))).toBe(true);
  });
});

describe("driftFailed: sockstat's inuse against the derived total", () => {
  const full = zeros();
  full[ESTABLISHED] = 5;
  full[LISTEN] = 1;
  const b = baselineOf(full);

  it("holds when they are equal (a quiet netns)", () => {
    expect(driftFailed(b, b.net, 6, 0)).toBe(false);
  });

  it("fails on any difference in a quiet interval", () => {
    expect(driftFailed(b, b.net, 7, 0)).toBe(true);
    expect(driftFailed(b, b.net, 5, 0)).toBe(true);
  });

  it("allows the opens and closes of the interval, and the baseline's bound", () => {
    expect(driftFailed(b, b.net, 8, 2)).toBe(false);
    expect(driftFailed(b, b.net, 9, 2)).toBe(true);
    expect(driftFailed({ ...b, exact: false, bound: 1 }, b.net, 9, 2)).toBe(false);
  });
});

describe("readReason: when a derived netns's table is read", () => {
  const b = baselineOf(zeros(), { at: 1_000 });
  const quiet: ReadInputs = {
    baseline: b,
    generation: 1,
    driftFailed: false,
    negative: false,
    synMoved: false,
    requestSocks: 0,
    acceptQueued: 0,
    finWait2TimeWait: 0,
    finWait2TimeWaitMade: false,
    listenersMoved: false,
    tw: 0,
    kernelMissed: false,
    timeWaitPeersWanted: false,
    lastReadAt: 1_000,
    now: 2_000,
  };

  it("is not read when nothing asks for it, however busy the netns", () => {
    expect(readReason(quiet)).toBeNull();
  });

  it.each([
    ["first", { baseline: undefined }],
    ["stream-broke", { generation: 2 }],
    ["drift", { driftFailed: true }],
    ["negative", { negative: true }],
    ["syn", { synMoved: true }],
    ["syn", { requestSocks: 3 }],
    ["accept-queue", { acceptQueued: 1 }],
    ["listeners", { listenersMoved: true }],
    ["fin-wait2", { finWait2TimeWait: 2, tw: 5 }],
    ["kernel-missed", { kernelMissed: true }],
    ["fin-wait2-made", { finWait2TimeWaitMade: true }],
    ["unconfirmed", { baseline: { ...b, exact: false, bound: 4 }, now: 1_000 + UNCONFIRMED_RETRY_MS }],
    ["time-wait-peers", { timeWaitPeersWanted: true }],
    ["periodic", { lastReadAt: 5_000, now: 5_000 + REBASELINE_MS }],
  ] as const)("is read for %s", (reason, over) => {
    expect(readReason({ ...quiet, ...over } as ReadInputs)).toBe(reason);
  });

  it("names the first reason that applies (a broken stream before SYN trouble)", () => {
    expect(readReason({ ...quiet, generation: 2, synMoved: true })).toBe("stream-broke");
    expect(readReason({ ...quiet, synMoved: true, timeWaitPeersWanted: true })).toBe("syn");
  });

  it("tries a busy baseline again only after UNCONFIRMED_RETRY_MS", () => {
    const busy = { ...b, exact: false, bound: 4 };
    expect(readReason({ ...quiet, baseline: busy, now: 1_000 + UNCONFIRMED_RETRY_MS - 1 })).toBeNull();
  });
});

describe("adoptBaseline: which read replaces a usable baseline", () => {
  const full = zeros();
  const cand = (over: Partial<Candidate> = {}): Candidate => ({
    full,
    net: zeros(),
    generation: 1,
    transitionsDuring: 0,
    ...over,
  });
  const exact = baselineOf(zeros());

  it("takes a quiet read, exact", () => {
    expect(adoptBaseline(exact, cand(), 1, 5)).toMatchObject({ exact: true, bound: 0, at: 5, full });
  });

  it("keeps an exact baseline over a busy read", () => {
    expect(adoptBaseline(exact, cand({ transitionsDuring: 3 }), 1, 5)).toBe(exact);
  });

  it("takes a busy read tighter than a busy baseline, not a looser one", () => {
    const busy = { ...exact, exact: false, bound: 5 };
    expect(adoptBaseline(busy, cand({ transitionsDuring: 2 }), 1, 5)).toMatchObject({ bound: 2 });
    expect(adoptBaseline(busy, cand({ transitionsDuring: 9 }), 1, 5)).toBe(busy);
  });

  it("drops a read from an earlier generation (the stream broke since)", () => {
    expect(adoptBaseline(exact, cand({ generation: 0 }), 1, 5)).toBe(exact);
  });
});

describe("seekBaseline: a netns without a usable baseline finds one", () => {
  const cand = (transitionsDuring: number, generation = 1): Candidate => ({
    full: zeros(),
    net: zeros(),
    generation,
    transitionsDuring,
  });

  it("takes the first quiet read, exact", () => {
    expect(seekBaseline({ attempts: 3, best: cand(2) }, cand(0), 1, 5)).toMatchObject({
      baseline: { exact: true, bound: 0, at: 5 },
      seek: { attempts: 0 },
    });
  });

  it("keeps seeking through busy reads, remembering the tightest", () => {
    let seek: Seeking = { attempts: 0 };
    for (const busy of [7, 3, 9]) {
      const r = seekBaseline(seek, cand(busy), 1, 5);
      expect(r.baseline).toBeUndefined();
      seek = r.seek;
    }
    expect(seek.attempts).toBe(3);
    expect(seek.best?.transitionsDuring).toBe(3);
  });

  it("settles for the tightest busy read after SEEK_ATTEMPTS, bounded by what ran beside it", () => {
    let seek: Seeking = { attempts: 0 };
    let baseline: Baseline | undefined;
    for (let i = 0; i < SEEK_ATTEMPTS; i++) {
      const r = seekBaseline(seek, cand(i === 2 ? 1 : 4), 1, 5);
      seek = r.seek;
      baseline = r.baseline;
      if (i < SEEK_ATTEMPTS - 1) expect(baseline).toBeUndefined();
    }
    expect(baseline).toMatchObject({ exact: false, bound: 1 });
  });

  it("ignores reads and bests from an earlier generation", () => {
    expect(seekBaseline({ attempts: 0 }, cand(0, 0), 1, 5)).toEqual({ seek: { attempts: 0 } });
    const r = seekBaseline({ attempts: 1, best: cand(1, 0) }, cand(5), 1, 5);
    expect(r.seek.best?.generation).toBe(1);
  });
});

describe("dropsBaseline", () => {
  it("drops it only when the derived gauges are shown wrong", () => {
    expect(dropsBaseline("drift")).toBe(true);
    expect(dropsBaseline("negative")).toBe(true);
    for (const r of ["syn", "listeners", "periodic", "kernel-missed", null] as const)
      expect(dropsBaseline(r)).toBe(false);
  });
});
