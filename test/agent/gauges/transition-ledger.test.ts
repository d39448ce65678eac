import { describe, expect, it } from "vitest";
import { TransitionLedger } from "../../../agent/gauges/transition-ledger.js";
import { TcpState } from "../../../agent/probe/tcp-state.js";

const { CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, LISTEN, CLOSE_WAIT } = TcpState;
const NS = 4026532001;
const OTHER = 4026532002;

/** Ticks every second from t = 10 s (µs), as transitions.bt prints them. */
const tickUs = (seq: number) => 10_000_000 + seq * 1_000_000;

/** One flush: begin (with the tick's time), counts, end. */
function flush(l: TransitionLedger, seq: number, counts: [number, number, number, number][] = []): void {
  l.flushBegin(seq, tickUs(seq), false);
  for (const [inode, o, n, c] of counts) l.add(inode, o, n, c);
  l.flushEnd(seq);
}

const started = () => {
  const l = new TransitionLedger();
  l.start();
  return l;
};

describe("TransitionLedger: flows", () => {
  it("sums entries − exits per state, per netns", () => {
    const l = started();
    flush(l, 1, [
      [NS, CLOSE, SYN_SENT, 5],
      [NS, SYN_SENT, ESTABLISHED, 4],
      [NS, ESTABLISHED, FIN_WAIT1, 1],
      [OTHER, CLOSE, LISTEN, 1],
    ]);
    const net = l.netOf(NS);
    expect([net[SYN_SENT], net[ESTABLISHED], net[FIN_WAIT1], net[CLOSE]]).toEqual([1, 3, 1, -5]);
    expect(l.netOf(OTHER)[LISTEN]).toBe(1);
    expect(l.transitionsOf(NS)).toBe(10);
  });

  it("takes an accepted child's LISTEN → SYN_RECV as made from nothing: listeners stay", () => {
    const l = started();
    flush(l, 1, [
      [NS, CLOSE, LISTEN, 1],
      [NS, LISTEN, SYN_RECV, 3],
      [NS, SYN_RECV, ESTABLISHED, 3],
    ]);
    expect(l.netOf(NS)[LISTEN]).toBe(1);
    expect(l.netOf(NS)[ESTABLISHED]).toBe(3);
    expect(l.netOf(NS)[SYN_RECV]).toBe(0);
  });

  it("reads 0 for a netns never counted, and forgets netns not retained", () => {
    const l = started();
    expect([...l.netOf(NS)].every((v) => v === 0)).toBe(true);
    flush(l, 1, [[NS, CLOSE, LISTEN, 1]]);
    l.addFinWait2TimeWait(NS, 2);
    expect(l.finWait2TimeWaitOf(NS)).toBe(2);
    l.retain(new Set([OTHER]));
    expect(l.netOf(NS)[LISTEN]).toBe(0);
    expect(l.finWait2TimeWaitOf(NS)).toBe(0);
  });
});

describe("TransitionLedger: a read lined up with the ticks", () => {
  it("is quiet when the netns made no transition from the tick before the read to the tick after it", () => {
    const l = started();
    flush(l, 1, [[NS, CLOSE, ESTABLISHED, 2]]);
    // The read runs between tick 1 and tick 2; flush 2 holds [tick 0, tick 1), flush 3 holds [tick 1, tick 2).
    const m = l.mark(NS, tickUs(1) + 100, tickUs(1) + 40_000);
    flush(l, 2, [[NS, CLOSE, ESTABLISHED, 1]]); // before the read: the read saw it
    expect(m?.state).toBe("waiting");
    flush(l, 3, [[OTHER, CLOSE, ESTABLISHED, 9]]);
    expect(m?.state).toBe("resolved");
    expect(m?.transitionsDuring).toBe(0);
    expect(m?.net?.[ESTABLISHED]).toBe(3); // as of tick 1: both flushes before the read
  });

  it("counts what the netns did in the interval the read ran in", () => {
    const l = started();
    flush(l, 1);
    const m = l.mark(NS, tickUs(1) + 100);
    if (!m) throw new Error("no mark");
    m.endUs = tickUs(1) + 30_000;
    flush(l, 2, [[NS, CLOSE, SYN_SENT, 1]]);
    flush(l, 3, [
      [NS, CLOSE, SYN_SENT, 2],
      [NS, SYN_SENT, ESTABLISHED, 1],
    ]);
    expect(m.state).toBe("resolved");
    expect(m.transitionsDuring).toBe(3);
    expect(m.churnDuring).toBe(2); // two sockets made; one changed state
    expect(m.net?.[SYN_SENT]).toBe(1);
  });

  it("spans every interval a long read crossed", () => {
    const l = started();
    flush(l, 1);
    const m = l.mark(NS, tickUs(1) + 900_000);
    flush(l, 2); // tick 2 comes while the read runs
    if (m) m.endUs = tickUs(2) + 100_000;
    flush(l, 3, [[NS, ESTABLISHED, CLOSE_WAIT, 1]]); // [tick 1, tick 2): during the read
    expect(m?.state).toBe("waiting");
    flush(l, 4);
    expect(m?.state).toBe("resolved");
    expect(m?.transitionsDuring).toBe(1);
  });

  it("ignores a tick that came before the read even when its flush arrives after the mark", () => {
    const l = started();
    flush(l, 1);
    const m = l.mark(NS, tickUs(2) + 5_000, tickUs(2) + 20_000); // tick 2 ran, its flush is still on its way
    flush(l, 2, [[NS, CLOSE, LISTEN, 1]]);
    flush(l, 3);
    expect(m?.state).toBe("waiting");
    flush(l, 4);
    expect(m?.state).toBe("resolved");
    expect(m?.net?.[LISTEN]).toBe(1);
    expect(m?.transitionsDuring).toBe(0);
  });

  it("makes no mark while counts do not flow", () => {
    const l = new TransitionLedger();
    expect(l.mark(NS, 1)).toBeNull();
    l.start();
    expect(l.mark(NS, 1)).not.toBeNull();
    l.stop();
    expect(l.ready).toBe(false);
    expect(l.mark(NS, 1)).toBeNull();
  });
});

describe("TransitionLedger: the count stream breaks", () => {
  it.each([
    ["a flush went missing", (l: TransitionLedger) => flush(l, 3)],
    ["bpftrace lost output", (l: TransitionLedger) => l.breakStream()],
    ["bpftrace exited", (l: TransitionLedger) => l.stop()],
    ["bpftrace started again", (l: TransitionLedger) => l.start()],
  ])("voids waiting marks and moves to a new generation when %s", (_what, breakIt) => {
    const l = started();
    flush(l, 1);
    const generation = l.generation;
    const m = l.mark(NS, tickUs(1) + 1, tickUs(1) + 2);
    breakIt(l);
    expect(m?.state).toBe("void");
    expect(l.generation).toBeGreaterThan(generation);
  });

  it("stays live after a gap: counting goes on from the next tick", () => {
    const l = started();
    flush(l, 1);
    flush(l, 3);
    expect(l.ready).toBe(true);
    const m = l.mark(NS, tickUs(3) + 1, tickUs(3) + 2);
    flush(l, 4);
    flush(l, 5);
    expect(m?.state).toBe("resolved");
  });

  it("stops when a tick carries no time (a program that cannot line reads up)", () => {
    const l = started();
    l.flushBegin(1, undefined, false);
    expect(l.ready).toBe(false);
  });

  it("takes END's final flush as counts, not as a gap", () => {
    const l = started();
    flush(l, 1);
    const generation = l.generation;
    l.flushBegin(2, undefined, true);
    l.add(NS, CLOSE, FIN_WAIT2, 1);
    l.flushEnd(2);
    expect(l.generation).toBe(generation);
    expect(l.netOf(NS)[FIN_WAIT2]).toBe(1);
  });
});
