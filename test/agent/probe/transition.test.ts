import { describe, expect, it } from "vitest";
import { TcpState } from "../../../agent/probe/tcp-state.js";
import { addTransition, classifyTransition, reportedNewState } from "../../../agent/probe/transition.js";
import { addCounters, COUNTER_NAMES, type Counters, zeroCounters } from "../../../agent/wire/counters.js";

const {
  ESTABLISHED,
  SYN_SENT,
  SYN_RECV,
  FIN_WAIT1,
  FIN_WAIT2,
  TIME_WAIT,
  CLOSE,
  CLOSE_WAIT,
  LAST_ACK,
  LISTEN,
  CLOSING,
  NEW_SYN_RECV,
} = TcpState;

/** The counters a socket's sequence of states produces (each consecutive pair is one transition). */
function countStates(...states: number[]): Counters {
  const c = zeroCounters();
  for (let i = 1; i < states.length; i++)
    addTransition(c, classifyTransition(states[i - 1] as number, states[i] as number), 1);
  return c;
}

/** Counters with the given ones set and every other one 0. */
const only = (set: Partial<Counters>): Counters => ({ ...zeroCounters(), ...set });

// The sequences of docs/design.md, "Kernel facts", counted by the definitions of its "Counting".
describe("the socket sequences the kernel reports", () => {
  it("counts a client's connect (CLOSE→SYN_SENT→ESTABLISHED) as an active open and an establishment", () => {
    expect(countStates(CLOSE, SYN_SENT, ESTABLISHED)).toEqual(only({ active_opens: 1, established: 1 }));
  });

  it("counts an accepted child (LISTEN→SYN_RECV→ESTABLISHED) as a passive open and an establishment", () => {
    expect(countStates(LISTEN, SYN_RECV, ESTABLISHED)).toEqual(only({ passive_opens: 1, established: 1 }));
  });

  it("counts an active close (ESTABLISHED→FIN_WAIT1→FIN_WAIT2→CLOSE) as a close entering TIME_WAIT", () => {
    expect(countStates(ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE)).toEqual(
      only({ closes: 1, time_wait_entries: 1 }),
    );
  });

  it("counts a passive close (ESTABLISHED→CLOSE_WAIT→LAST_ACK→CLOSE) as a close, not a reset or TIME_WAIT", () => {
    expect(countStates(ESTABLISHED, CLOSE_WAIT, LAST_ACK, CLOSE)).toEqual(only({ closes: 1 }));
  });

  it("counts a reset (ESTABLISHED→CLOSE) as a close and a reset", () => {
    expect(countStates(ESTABLISHED, CLOSE)).toEqual(only({ closes: 1, resets: 1 }));
  });

  it("counts a reset received in CLOSE_WAIT (CLOSE_WAIT→CLOSE) as a close and a reset", () => {
    expect(countStates(ESTABLISHED, CLOSE_WAIT, CLOSE)).toEqual(only({ closes: 1, resets: 1 }));
  });

  it("classifies a refused connect (SYN_SENT→CLOSE) as failed_connects, not a close", () => {
    expect(countStates(CLOSE, SYN_SENT, CLOSE)).toEqual(only({ active_opens: 1, failed_connects: 1 }));
  });

  it("counts nothing for a listener opened and closed (CLOSE→LISTEN→CLOSE)", () => {
    expect(countStates(CLOSE, LISTEN, CLOSE)).toEqual(zeroCounters());
  });

  it("counts a simultaneous close ending in CLOSING→CLOSE as entering TIME_WAIT", () => {
    expect(countStates(ESTABLISHED, FIN_WAIT1, CLOSING, CLOSE)).toEqual(
      only({ closes: 1, time_wait_entries: 1 }),
    );
  });
});

describe("whole connections", () => {
  it("gives a client connection that closes first active_opens = established = closes = time_wait_entries = 1", () => {
    expect(countStates(CLOSE, SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE)).toEqual(
      only({ active_opens: 1, established: 1, closes: 1, time_wait_entries: 1 }),
    );
  });

  it("gives a server child closed by the peer passive_opens = established = closes = 1", () => {
    expect(countStates(LISTEN, SYN_RECV, ESTABLISHED, CLOSE_WAIT, LAST_ACK, CLOSE)).toEqual(
      only({ passive_opens: 1, established: 1, closes: 1 }),
    );
  });

  it("counts both ends of one connection as one open each and one close each", () => {
    const both = zeroCounters();
    addCounters(both, countStates(CLOSE, SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE));
    addCounters(both, countStates(LISTEN, SYN_RECV, ESTABLISHED, CLOSE_WAIT, LAST_ACK, CLOSE));
    expect(both).toEqual({
      active_opens: 1,
      passive_opens: 1,
      established: 2,
      failed_connects: 0,
      closes: 2,
      resets: 0,
      time_wait_entries: 1,
    });
  });
});

describe("classifyTransition", () => {
  it("counts a close from any state except LISTEN and SYN_SENT", () => {
    for (const from of [ESTABLISHED, SYN_RECV, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, CLOSING]) {
      const c = zeroCounters();
      addTransition(c, classifyTransition(from, CLOSE), 1);
      expect(c.closes, `state ${from} → CLOSE`).toBe(1);
    }
    for (const from of [LISTEN, SYN_SENT]) {
      const c = zeroCounters();
      addTransition(c, classifyTransition(from, CLOSE), 1);
      expect(c.closes, `state ${from} → CLOSE`).toBe(0);
    }
  });

  it("counts TIME_WAIT entries only from FIN_WAIT2 and CLOSING", () => {
    for (let from = 1; from <= 12; from++) {
      const c = zeroCounters();
      addTransition(c, classifyTransition(from, CLOSE), 1);
      expect(c.time_wait_entries, `state ${from} → CLOSE`).toBe(
        from === FIN_WAIT2 || from === CLOSING ? 1 : 0,
      );
    }
  });

  it("counts nothing for transitions inside a connection's life", () => {
    for (const [o, n] of [
      [ESTABLISHED, FIN_WAIT1],
      [FIN_WAIT1, FIN_WAIT2],
      [ESTABLISHED, CLOSE_WAIT],
      [CLOSE_WAIT, LAST_ACK],
      [FIN_WAIT1, CLOSING],
      [CLOSE, LISTEN],
      // seen in real output: a socket set to the state it is in
      [FIN_WAIT1, FIN_WAIT1],
    ] as const)
      expect(classifyTransition(o, n), `${o} → ${n}`).toBe(0);
  });

  it("counts nothing for states the tracepoint never reports as new (TIME_WAIT, NEW_SYN_RECV) or unknown ones", () => {
    expect(classifyTransition(FIN_WAIT2, TIME_WAIT)).toBe(0);
    expect(classifyTransition(LISTEN, NEW_SYN_RECV)).toBe(0);
    expect(classifyTransition(13, 14)).toBe(0);
  });

  it("adds a transition counted many times by the kernel as that many", () => {
    const c = zeroCounters();
    addTransition(c, classifyTransition(FIN_WAIT2, CLOSE), 250);
    expect(c).toEqual(only({ closes: 250, time_wait_entries: 250 }));
  });

  it("names every counter the wire contract defines", () => {
    expect([...COUNTER_NAMES].sort()).toEqual(
      [
        "active_opens",
        "passive_opens",
        "established",
        "failed_connects",
        "closes",
        "resets",
        "time_wait_entries",
      ].sort(),
    );
  });
});

describe("reportedNewState (what a live event shows the socket entering)", () => {
  it("shows an active close's last transition as FIN_WAIT2 → TIME_WAIT, and a simultaneous close's as CLOSING → TIME_WAIT", () => {
    expect(reportedNewState(FIN_WAIT2, CLOSE)).toBe(TIME_WAIT);
    expect(reportedNewState(CLOSING, CLOSE)).toBe(TIME_WAIT);
  });

  it("keeps the kernel's new state for every other transition, closes that leave no TIME_WAIT included", () => {
    expect(reportedNewState(LAST_ACK, CLOSE)).toBe(CLOSE);
    expect(reportedNewState(ESTABLISHED, CLOSE)).toBe(CLOSE);
    expect(reportedNewState(SYN_SENT, CLOSE)).toBe(CLOSE);
    expect(reportedNewState(LISTEN, SYN_RECV)).toBe(SYN_RECV);
    expect(reportedNewState(FIN_WAIT1, FIN_WAIT2)).toBe(FIN_WAIT2);
  });

  it("shows → TIME_WAIT for exactly the transitions counted as time_wait_entries", () => {
    for (let from = 0; from <= 14; from++)
      for (let to = 0; to <= 14; to++) {
        const c = zeroCounters();
        addTransition(c, classifyTransition(from, to), 1);
        expect(reportedNewState(from, to) === TIME_WAIT && to !== TIME_WAIT, `${from} → ${to}`).toBe(
          c.time_wait_entries === 1,
        );
      }
  });
});
