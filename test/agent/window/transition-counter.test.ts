import pino from "pino";
import { describe, expect, it } from "vitest";
import { AgentMetrics } from "../../../agent/agent-metrics.js";
import { TransitionLedger } from "../../../agent/gauges/transition-ledger.js";
import { ProbeError, ProbeErrorCode } from "../../../agent/probe/probe-error.js";
import { parseProbeLine } from "../../../agent/probe/probe-line.js";
import { TcpState } from "../../../agent/probe/tcp-state.js";
import { NodeWindow } from "../../../agent/window/node-window.js";
import { TransitionCounter } from "../../../agent/window/transition-counter.js";

const NS = 4026532001;
const { CLOSE, SYN_SENT, FIN_WAIT2 } = TcpState;

function setup() {
  const window = new NodeWindow(0);
  const ledger = new TransitionLedger();
  const counter = new TransitionCounter(window, pino({ level: "silent" }), new AgentMetrics(), ledger);
  const feed = (...lines: string[]) => {
    for (const l of lines) counter.line(parseProbeLine(l));
  };
  return { window, ledger, counter, feed };
}

const exit = {
  code: 1,
  signal: undefined,
  wasReady: true,
  expected: false,
  error: new ProbeError(ProbeErrorCode.BPFTRACE_FAILED, "bpftrace exited"),
};

describe("TransitionCounter: what it hands the ledger of derived gauges", () => {
  it("hands every count to the window and the ledger, FIN_WAIT2 timewait socks to the ledger only", () => {
    const { window, ledger, counter, feed } = setup();
    counter.ready();
    feed(
      "F 1 1000000",
      `@c0[${NS}, 0, ${CLOSE}, ${SYN_SENT}]: 3`,
      `@c0[${NS}, 0, ${FIN_WAIT2}, ${CLOSE}]: 2`,
      `@f0[${NS}]: 1`,
      "E 1",
    );
    expect(ledger.netOf(NS)[SYN_SENT]).toBe(3);
    expect(ledger.finWait2TimeWaitOf(NS)).toBe(1);
    expect(ledger.transitionsOf(NS)).toBe(5);
    expect(window.active()).toEqual(new Set([NS]));
  });

  it("starts the ledger when bpftrace is ready and stops it when bpftrace exits", () => {
    const { ledger, counter, feed } = setup();
    expect(ledger.ready).toBe(false);
    counter.ready();
    feed("F 1 1000000", "E 1");
    expect(ledger.ready).toBe(true);
    const generation = ledger.generation;
    counter.exit(exit);
    expect(ledger.ready).toBe(false);
    expect(ledger.generation).toBeGreaterThan(generation);
  });

  it("breaks the ledger's stream on lost output and on a missing flush, and lines reads up with tick times", () => {
    const { ledger, counter, feed } = setup();
    counter.ready();
    feed("F 1 1000000", "E 1");
    const m = ledger.mark(NS, 1_500_000, 1_600_000);
    feed("F 2 2000000", "E 2", "F 3 3000000", "E 3");
    expect(m?.state).toBe("resolved");
    let generation = ledger.generation;
    feed("Lost 3 events");
    expect(ledger.generation).toBeGreaterThan(generation);
    generation = ledger.generation;
    feed("F 4 4000000", "E 4", "F 6 6000000", "E 6");
    expect(ledger.generation).toBeGreaterThan(generation);
    expect(ledger.ready).toBe(true);
  });
});
