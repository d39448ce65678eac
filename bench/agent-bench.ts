// Benchmark: tcpstate's agent (kernel-map counts) vs the per-event baseline (bpftrace printf per event piped
// into Node), under connection churn inside one pod over its lo (--path loopback, the default) or between two
// pods through veth + bridge (--path veth), against the generator's exact ground truth.
// Prints markdown tables and the verdict per target; exits 3 when a target is missed, 1 on errors.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, release, tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { createPodNetwork } from "../netns-lab/pod-network.js";
import { buildChurn, runChurnClient, startChurnServer } from "./churn.js";
import { type Cleanup, runBench } from "./cleanup.js";
import { type CountingProcess, startAgent, startBaseline } from "./counters.js";
import { BenchError, type Options, parseOptions, rateLabel } from "./options.js";
import { CLOCK_TICKS_PER_SECOND, cpuTicks, peakRssBytes } from "./procfs.js";
import {
  detailTable,
  groundTruthNote,
  lossRatios,
  type Mode,
  mainTable,
  type RunResult,
  score,
  targets,
} from "./report.js";
import { addPods, podSides } from "./topology.js";
import { type Target, verdictLines } from "./verdict.js";

const execFileAsync = promisify(execFile);
const SERVER_PORT = 7000;
// Several server ports multiply the client's usable 4-tuples, so TIME_WAIT reuse is not the bottleneck.
const SERVER_PORTS = 4;
const SERVER_WORKERS = 2;
// Flat out, a few processes keep both vCPUs busy; paced, two processes share the rate.
const MAX_PROCS = 4;
const PACED_PROCS = 2;

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/** Every bpftrace this benchmark started (directly or through the agent): none may outlive it. */
const bpftracePids = new Set<number>();

/** Ours among `pgrep -x bpftrace` (other users' bpftrace are none of our business), after a grace period. */
async function orphanBpftrace(): Promise<number[]> {
  let ours: number[] = [];
  for (let i = 0; i < 30; i++) {
    const out = await execFileAsync("pgrep", ["-x", "bpftrace"]).then(
      (r) => r.stdout,
      () => "", // pgrep exits 1 when nothing matches
    );
    ours = out
      .split("\n")
      .filter(Boolean)
      .map(Number)
      .filter((pid) => bpftracePids.has(pid));
    if (ours.length === 0) break;
    await sleep(100);
  }
  return ours;
}

async function measureRun(bin: string, mode: Mode, rate: number, opts: Options, cleanup: Cleanup) {
  // Fresh pods per run: the previous run's ~100k TIME_WAIT sockets would slow the next one down.
  const net = await createPodNetwork({ prefix: "bn" });
  const destroyNet = cleanup.add(`pods ${net.prefix}`, () => net.destroy());
  try {
    const topo = await addPods(net, opts.path);
    const srv = await startChurnServer(
      bin,
      topo.server,
      { ip: topo.serverIp, port: SERVER_PORT, ports: SERVER_PORTS, workers: SERVER_WORKERS },
      cleanup,
    );
    // Started after the server listens: LISTEN transitions count as nothing anyway, but this keeps the
    // pods idle from the counter's first moment to the traffic.
    const counter: CountingProcess =
      mode === "agent"
        ? await startAgent(topo.pods, cleanup, opts.interval)
        : await startBaseline(topo.pods, cleanup);
    bpftracePids.add(counter.bpftracePid);
    try {
      await counter.mark();
      const pids = [counter.bpftracePid, counter.nodePid];
      const before = await Promise.all(pids.map(cpuTicks));
      const started = performance.now();
      const result = await runChurnClient(bin, topo.client, {
        ip: topo.serverIp,
        port: SERVER_PORT,
        ports: SERVER_PORTS,
        seconds: opts.seconds,
        procs: rate === 0 ? MAX_PROCS : PACED_PROCS,
        rate,
      });
      const seconds = (performance.now() - started) / 1000;
      const after = await Promise.all(pids.map(cpuTicks));
      const rss = await Promise.all(pids.map(peakRssBytes));
      // The accept queues drain within milliseconds; only then does "accepted" equal the kernel's children.
      await sleep(1000);
      const accepted = await srv.stop();
      const collected = await counter.collect();
      if (result.socketFailed > 0) collected.notes.push(`client: ${result.socketFailed} socket() failures`);
      if (result.failed > 0) collected.notes.push(`client: connect errors ${JSON.stringify(result.errors)}`);
      const cpuPct = (i: number) => {
        const a = after[i];
        const b = before[i];
        if (a === undefined || b === undefined)
          throw new Error(`${mode}: a measured process exited during the run`);
        return (100 * (a - b)) / CLOCK_TICKS_PER_SECOND / seconds;
      };
      const mb = (i: number) => (rss[i] ?? 0) / 1024 / 1024;
      const run: RunResult = {
        mode,
        path: topo.path,
        layout: topo.layout,
        rateLabel: rateLabel(rate),
        connsPerSec: result.ok / result.seconds,
        truth: { ok: result.ok, failed: result.failed, accepted },
        collected,
        cpu: { bpftrace: cpuPct(0), node: cpuPct(1) },
        rssMb: { bpftrace: mb(0), node: mb(1) },
      };
      return run;
    } finally {
      await counter.stop();
    }
  } finally {
    await destroyNet();
  }
}

async function main(cleanup: Cleanup): Promise<Target[]> {
  const opts = parseOptions(process.argv.slice(2), process.env);
  const dir = await mkdtemp(`${tmpdir()}/tcpstate-bench-`);
  cleanup.add("temp dir", () => rm(dir, { recursive: true, force: true }));
  const bin = await buildChurn(dir);
  const bpftraceVersion = (await execFileAsync("bpftrace", ["--version"])).stdout.trim();
  const runs: RunResult[] = [];
  for (const rate of opts.rates) {
    for (const mode of ["agent", "baseline"] as const) {
      log(`${mode}, ${opts.path}, rate ${rateLabel(rate)}: ${opts.seconds} s of traffic`);
      const run = await measureRun(bin, mode, rate, opts, cleanup);
      log(`${mode}, rate ${rateLabel(rate)}: ${Math.round(run.connsPerSec)} conn/s`);
      runs.push(run);
    }
  }
  const scored = runs.map(score);
  const goals = targets(scored);
  const notes = runs.flatMap((r) => r.collected.notes.map((n) => `- ${r.mode} ${r.rateLabel}: ${n}`));
  const out = [
    `## tcpstate agent vs per-event baseline (${opts.path} path, ${opts.seconds} s per run, agent windows of ${opts.interval} s, ${cpus().length} vCPUs, kernel ${release()}, ${bpftraceVersion})`,
    "",
    mainTable(scored),
    "",
    ...groundTruthNote(podSides(opts.path)),
    "Kernel misses: tracepoint runs the kernel skipped (BPF recursion), % of ground truth. CPU: utime +",
    "stime during the traffic ÷ traffic duration; the BPF program itself runs in the context of whichever task",
    "changes a socket's state, so its cost shows as fewer conn/s, not as bpftrace CPU.",
    "",
    "Baseline loss ÷ agent loss:",
    ...lossRatios(scored),
    "",
    "Targets:",
    ...verdictLines(goals),
    ...(notes.length > 0 ? ["", "Notes:", ...notes] : []),
    "",
    "<details><summary>Per counter</summary>",
    "",
    detailTable(runs),
    "",
    "</details>",
  ];
  process.stdout.write(`${out.join("\n")}\n`);
  return goals;
}

runBench(
  "agent-bench",
  main,
  async () => {
    const orphans = await orphanBpftrace();
    return orphans.map((pid) => `bpftrace ${pid}`);
  },
  (err) => (err instanceof BenchError ? err.message : (err.stack ?? err.message)),
);
