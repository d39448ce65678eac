// Ground truth vs counts, and the markdown tables the benchmark prints.

import { COUNTER_NAMES, type CounterName } from "../agent/wire/counters.js";
import type { Collected } from "./counters.js";
import type { BenchPath } from "./options.js";
import type { Target } from "./verdict.js";

export type Mode = "agent" | "baseline";

export interface GroundTruth {
  /** connect() calls that returned 0 / an error (each one went CLOSE→SYN_SENT in the kernel). */
  ok: number;
  failed: number;
  /** Connections the server accepted (all of them: it is stopped only after the queues drained). */
  accepted: number;
}

export interface RunResult {
  mode: Mode;
  path: BenchPath;
  /** Which pods hold which ends of the connections: collected.counts is by these names. */
  layout: PodSides[];
  rateLabel: string;
  connsPerSec: number;
  truth: GroundTruth;
  collected: Collected;
  /** % of one core over the traffic duration. */
  cpu: { bpftrace: number; node: number };
  rssMb: { bpftrace: number; node: number };
}

/** One end of the generator's connections. */
export type Side = "client" | "server";

/** A pod (by name) and the ends of the connections it holds: both of them on the loopback path. */
export interface PodSides {
  name: string;
  sides: Side[];
}

/** What each end of every connection adds to the counters of the pod holding it, from the exact totals. */
const SIDE_TRUTH: Record<Side, Partial<Record<CounterName, (t: GroundTruth) => number>>> = {
  // Every connect() went CLOSE→SYN_SENT; each success closed actively (FIN_WAIT2→CLOSE, i.e. into TIME_WAIT).
  client: {
    active_opens: (t) => t.ok + t.failed,
    established: (t) => t.ok,
    failed_connects: (t) => t.failed,
    closes: (t) => t.ok,
    time_wait_entries: (t) => t.ok,
  },
  // Every accepted connection closed passively (LAST_ACK→CLOSE).
  server: {
    passive_opens: (t) => t.accepted,
    established: (t) => t.accepted,
    closes: (t) => t.accepted,
  },
};

/** The client's FIN_WAIT2→CLOSE transitions once more (a subset of closes): shown, not summed twice. */
const NOT_SUMMED: ReadonlySet<CounterName> = new Set(["time_wait_entries"]);

interface Check {
  pod: string;
  /** The ends the pod holds, e.g. "client+server". */
  label: string;
  counter: CounterName;
  expected: (t: GroundTruth) => number;
  /** Summed into the row's totals. The summed counters classify disjoint sets of transitions, so one missed
   * tracepoint run lowers the sum by at most one and "difference ≤ kernel misses" compares like with like. */
  summed: boolean;
}

/** The counters that the given ends of the connections move in the pod holding them, with their truth. */
function truthOf(sides: Side[]): { counter: CounterName; expected: (t: GroundTruth) => number }[] {
  return COUNTER_NAMES.flatMap((counter) => {
    const parts = sides.flatMap((side) => SIDE_TRUTH[side][counter] ?? []);
    if (parts.length === 0) return [];
    return [{ counter, expected: (t: GroundTruth) => parts.reduce((sum, part) => sum + part(t), 0) }];
  });
}

function checks(layout: PodSides[]): Check[] {
  return layout.flatMap(({ name, sides }) =>
    truthOf(sides).map((c) => ({
      ...c,
      pod: name,
      label: sides.join("+"),
      summed: !NOT_SUMMED.has(c.counter),
    })),
  );
}

const counted = (run: RunResult, c: Check) => run.collected.counts[c.pod]?.[c.counter] ?? 0;

/** The ground-truth lines under the main table. */
export function groundTruthNote(layout: PodSides[]): string[] {
  const label = (p: PodSides) => `${p.sides.join("+")} pod`;
  const pods = layout.map(
    (p) =>
      `${label(p)}: ${truthOf(p.sides)
        .map((c) => c.counter)
        .join(", ")}`,
  );
  const shared = layout.filter((p) => p.sides.length > 1).map(label);
  return [
    `Ground truth: transitions the generator's exact totals imply (${pods.join("; ")}).`,
    ...shared.map(
      (pod) => `The ${pod} holds both ends of every connection: established and closes count each twice.`,
    ),
    "time_wait_entries (the client's closes again) are shown, not summed. Difference = ground truth − counted.",
  ];
}

export interface Scored {
  run: RunResult;
  truth: number;
  counted: number;
  /** truth − counted: positive means transitions were lost. */
  difference: number;
  differencePct: number;
  missesPct: number;
}

export function score(run: RunResult): Scored {
  let truth = 0;
  let total = 0;
  for (const c of checks(run.layout).filter((c) => c.summed)) {
    truth += c.expected(run.truth);
    total += counted(run, c);
  }
  const difference = truth - total;
  const pct = (n: number) => (truth > 0 ? (100 * n) / truth : 0);
  return {
    run,
    truth,
    counted: total,
    difference,
    differencePct: pct(difference),
    missesPct: pct(run.collected.kernelMissed),
  };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (n: number, digits = 4) => `${n.toFixed(digits)}%`;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

export function mainTable(scored: Scored[]): string {
  const head = [
    "mode",
    "path",
    "rate",
    "conn/s",
    "ground truth",
    "counted",
    "difference",
    "difference %",
    "kernel misses",
    "bpftrace lost",
    "CPU % of 1 core (bpftrace + node)",
    "RSS MB (bpftrace / node)",
  ];
  const rows = scored.map(({ run, truth, counted, difference, differencePct }) => [
    run.mode,
    run.path,
    run.rateLabel,
    int(run.connsPerSec),
    int(truth),
    int(counted),
    int(difference),
    pct(differencePct),
    `${int(run.collected.kernelMissed)} (${pct((100 * run.collected.kernelMissed) / Math.max(truth, 1))})`,
    int(run.collected.reportedLost),
    `${(run.cpu.bpftrace + run.cpu.node).toFixed(1)} (${run.cpu.bpftrace.toFixed(1)} + ${run.cpu.node.toFixed(1)})`,
    `${run.rssMb.bpftrace.toFixed(0)} / ${run.rssMb.node.toFixed(0)}`,
  ]);
  return table(head, rows);
}

export function detailTable(runs: RunResult[]): string {
  const head = ["mode", "rate", "pod", "counter", "ground truth", "counted", "difference"];
  const rows: string[][] = [];
  for (const run of runs) {
    for (const c of checks(run.layout)) {
      const expected = c.expected(run.truth);
      const count = counted(run, c);
      const counter = c.summed ? c.counter : `${c.counter} (not summed)`;
      rows.push([
        run.mode,
        run.rateLabel,
        c.label,
        counter,
        int(expected),
        int(count),
        int(expected - count),
      ]);
    }
  }
  return table(head, rows);
}

/** Baseline's loss share ÷ agent's, per rate (shares, since the two runs made different numbers of connections). */
export function lossRatios(scored: Scored[]): string[] {
  const lines: string[] = [];
  for (const agent of scored.filter((s) => s.run.mode === "agent")) {
    const base = scored.find((s) => s.run.mode === "baseline" && s.run.rateLabel === agent.run.rateLabel);
    if (!base) continue;
    const baseLoss = Math.max(base.differencePct, 0);
    const agentLoss = Math.max(agent.differencePct, 0);
    const ratio =
      agentLoss === 0 ? (baseLoss === 0 ? "1 (neither lost any)" : "∞") : (baseLoss / agentLoss).toFixed(1);
    lines.push(
      `- rate ${agent.run.rateLabel}: baseline lost ${pct(baseLoss)}, agent ${pct(agentLoss)} → ratio ${ratio}`,
    );
  }
  return lines;
}

/** The targets are stated for the agent at max rate (≥ 40k conn/s) and at 10k conn/s; other rates have none. */
export function targets(scored: Scored[]): Target[] {
  const out: Target[] = [];
  for (const s of scored.filter((s) => s.run.mode === "agent")) {
    const { run } = s;
    if (run.rateLabel === "max") {
      const caveat =
        run.connsPerSec >= 40_000
          ? ""
          : `; only ${int(run.connsPerSec)} conn/s reached, the target is for ≥ 40k`;
      out.push(
        {
          name: "agent at top rate: difference from ground truth ≤ kernel misses",
          held: s.difference <= run.collected.kernelMissed,
          detail: `${int(s.difference)} ≤ ${int(run.collected.kernelMissed)}${caveat}`,
        },
        {
          name: "agent at ≥ 40k conn/s: kernel misses < 0.01%",
          held: s.missesPct < 0.01 && run.connsPerSec >= 40_000,
          detail: `${pct(s.missesPct)} at ${int(run.connsPerSec)} conn/s`,
        },
      );
    } else if (run.rateLabel === "10000") {
      const cpu = run.cpu.bpftrace + run.cpu.node;
      out.push({
        name: "agent CPU ≤ 5% of one core at 10k conn/s",
        held: cpu <= 5,
        detail: `${cpu.toFixed(1)}% at ${int(run.connsPerSec)} conn/s`,
      });
    }
  }
  return out;
}
