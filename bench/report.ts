// Ground truth vs counts, and the markdown tables the benchmark prints.
import type { Counters } from "../agent/probe/transition.js";
import type { Collected } from "./counters.js";

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
  rateLabel: string;
  connsPerSec: number;
  truth: GroundTruth;
  collected: Collected;
  /** % of one core over the traffic duration. */
  cpu: { bpftrace: number; node: number };
  rssMb: { bpftrace: number; node: number };
}

interface Check {
  pod: "client" | "server";
  counter: keyof Counters;
  expected: (t: GroundTruth) => number;
  /** Summed into the row's totals: each summed check is a distinct transition, so one missed tracepoint
   * run lowers the sum by at most one and "difference ≤ kernel misses" compares like with like. */
  summed: boolean;
}

const CHECKS: Check[] = [
  { pod: "client", counter: "active_opens", expected: (t) => t.ok + t.failed, summed: true },
  { pod: "client", counter: "established", expected: (t) => t.ok, summed: true },
  { pod: "client", counter: "time_wait_entries", expected: (t) => t.ok, summed: true },
  // The same FIN_WAIT2→CLOSE transitions as time_wait_entries: shown, not summed twice.
  { pod: "client", counter: "closes", expected: (t) => t.ok, summed: false },
  { pod: "client", counter: "failed_connects", expected: (t) => t.failed, summed: true },
  { pod: "server", counter: "passive_opens", expected: (t) => t.accepted, summed: true },
  { pod: "server", counter: "established", expected: (t) => t.accepted, summed: true },
  { pod: "server", counter: "closes", expected: (t) => t.accepted, summed: true },
];

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
  let counted = 0;
  for (const c of CHECKS.filter((c) => c.summed)) {
    truth += c.expected(run.truth);
    counted += run.collected[c.pod][c.counter];
  }
  const difference = truth - counted;
  const pct = (n: number) => (truth > 0 ? (100 * n) / truth : 0);
  return {
    run,
    truth,
    counted,
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
    for (const c of CHECKS) {
      const expected = c.expected(run.truth);
      const counted = run.collected[c.pod][c.counter];
      const counter = c.summed ? c.counter : `${c.counter} (not summed)`;
      rows.push([
        run.mode,
        run.rateLabel,
        c.pod,
        counter,
        int(expected),
        int(counted),
        int(expected - counted),
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
export function targets(scored: Scored[]): string[] {
  const yes = (ok: boolean) => (ok ? "HELD" : "MISSED");
  const lines: string[] = [];
  for (const s of scored.filter((s) => s.run.mode === "agent")) {
    const { run } = s;
    if (run.rateLabel === "max") {
      const fast = run.connsPerSec >= 40_000;
      const exact = s.difference <= run.collected.kernelMissed;
      const rare = s.missesPct < 0.01;
      const caveat = fast
        ? ""
        : ` (only ${int(run.connsPerSec)} conn/s reached, the target is stated for ≥ 40k)`;
      lines.push(
        `- agent at ≥ 40k conn/s: difference ≤ kernel misses (${int(s.difference)} ≤ ${int(run.collected.kernelMissed)}): ${yes(exact)}; misses < 0.01% (${pct(s.missesPct)}): ${yes(rare)}${caveat}`,
      );
    } else if (run.rateLabel === "10000") {
      const cpu = run.cpu.bpftrace + run.cpu.node;
      lines.push(
        `- agent CPU ≤ 5% of one core at 10k conn/s (${int(run.connsPerSec)} reached): ${cpu.toFixed(1)}%: ${yes(cpu <= 5)}`,
      );
    }
  }
  return lines.length > 0 ? lines : ["- none stated for these rates (they are for max and 10000)"];
}
