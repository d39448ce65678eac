// npm run bench:collector [-- --nodes 1000 --pods 50 --seconds 60]: the collector under a simulated cluster.
// Simulated agents (one process, one NATS connection) publish one summary per node per 5 s window, each node at
// its own phase, through a real nats-server (JetStream publish with the agent's message id) to a real
// `tcpstate collector` process. Measures publish and ingest rates, consumer lag every 5 s, the collector's CPU
// and memory (from /proc), bytes per tracked pod, and /api/v1/pods once loaded; prints markdown tables.
// Then replays the same kind of summaries in this process through the collector's own decode and model code
// to show where its CPU and memory go, and /healthz polled throughout (answered within 1 s). Ends with the
// verdict per target; exits 3 when one is missed, 1 on errors.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NodeSummarySchema } from "../agent/wire/summary.js";
import type { CollectorProcess } from "../test/support/collector-process.js";
import { HEALTH_DEADLINE_MS, type HealthRecord, watchHealth } from "../test/support/health-watch.js";
import { startNatsServer } from "../test/support/nats-server.js";
import { type Cleanup, runBench } from "./cleanup.js";
import { startBenchCollector } from "./collector-cli.js";
import { breakdown, type CpuBreakdown } from "./collector-cpuprofile.js";
import { collectGarbage, cpuProfile, inspectorUrl, withInspector } from "./collector-inspector.js";
import { type Profile, profileCollector } from "./collector-profile.js";
import { type PublishStats, percentile, publishSchedule } from "./collector-publisher.js";
import { memoryOf, type Sample, SCRAPE_EVERY, sample } from "./collector-sample.js";
import { SummaryFactory } from "./collector-summaries.js";
import { BenchError } from "./options.js";
import { CLOCK_TICKS_PER_SECOND, childrenNamed, isAlive } from "./procfs.js";
import { type Target, verdictLines } from "./verdict.js";

const log = (msg: string) => process.stderr.write(`[collector-bench] ${msg}\n`);

const INTERVAL_MS = 5000;
const SAMPLE_MS = 5000;
/** Publishes awaiting their PubAck at most (the schedule waits for a slot beyond this). */
const MAX_IN_FLIGHT = 256;
/** The publisher fell behind if a summary went out later than this after its due time. */
const BEHIND_MS = 1000;
const TARGET_BYTES_PER_POD_HOUR = 20 * 1024;
const HOUR_MS = 3_600_000;
/** Nodes replayed in-process for the CPU/memory breakdown, over a simulated hour of windows. */
const PROFILE_NODES = 10;
const WINDOWS_PER_HOUR = HOUR_MS / INTERVAL_MS;

interface Options {
  nodes: number;
  pods: number;
  seconds: number;
}

const USAGE = "usage: collector-bench [--nodes 1000] [--pods 50] [--seconds 60]";

function parseOptions(argv: string[]): Options {
  let values: { nodes?: string; pods?: string; seconds?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { nodes: { type: "string" }, pods: { type: "string" }, seconds: { type: "string" } },
    }));
  } catch (err) {
    throw new BenchError(`${(err as Error).message}\n${USAGE}`);
  }
  const int = (flag: string, text: string | undefined, def: number, min: number, max: number) => {
    const n = Number(text ?? def);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new BenchError(`--${flag} must be an integer from ${min} to ${max}, got "${text}"\n${USAGE}`);
    return n;
  };
  return {
    nodes: int("nodes", values.nodes, 1000, 1, 100_000),
    pods: int("pods", values.pods, 50, 1, 1000),
    seconds: int("seconds", values.seconds, 60, INTERVAL_MS / 1000, 3600),
  };
}

/** What the run started, for the leftovers check. */
const started: { collectorPid?: number; natsPid?: number; natsStore?: string } = {};

async function leftovers(): Promise<string[]> {
  const left: string[] = [];
  for (const [what, pid] of [
    ["collector", started.collectorPid],
    ["nats-server", started.natsPid],
  ] as const) {
    if (pid && (await isAlive(pid))) left.push(`${what} (pid ${pid})`);
  }
  for (const pid of await childrenNamed(process.pid, "nats-server")) left.push(`nats-server (pid ${pid})`);
  if (started.natsStore && existsSync(started.natsStore)) left.push(started.natsStore);
  return left;
}

/** The nats-server's store dir, from its command line (`-sd <dir>`). */
async function storeDirOf(pid: number): Promise<string | undefined> {
  const args = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
  const i = args.indexOf("-sd");
  return i >= 0 ? args[i + 1] : undefined;
}

interface ApiTiming {
  ms: number[];
  bytes: number;
  pods: number;
}

async function timePodsApi(collector: CollectorProcess, times: number): Promise<ApiTiming> {
  const ms: number[] = [];
  let bytes = 0;
  let pods = 0;
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    const res = await collector.get("/api/v1/pods");
    ms.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`/api/v1/pods answered ${res.status}`);
    bytes = Buffer.byteLength(res.text);
    pods = (res.json() as { pods: unknown[] }).pods.length;
  }
  return { ms, bytes, pods };
}

interface Run {
  opts: Options;
  windows: number;
  entriesPerSummary: number;
  t0: number;
  stats: PublishStats;
  idle: Sample;
  start: Sample;
  samples: Sample[];
  /** The first sample with every acked summary ingested (or the last one, at the drain deadline). */
  end: Sample;
  caughtUp: boolean;
  /** 2 s after the run, before the API calls; then the same after a forced GC. */
  loadedRaw: Sample;
  loaded: Sample;
  api: ApiTiming;
  final: { rss: number; hwm: number };
  benchCpuMs: number;
  /** /healthz polled from t0 until all was ingested. */
  health: HealthRecord;
  /** The collector's CPU profile, from `from` ms after t0. */
  cpuProfile: { from: number; profile: CpuBreakdown } | undefined;
  profile?: Profile;
}

async function main(cleanup: Cleanup): Promise<Target[]> {
  const opts = parseOptions(process.argv.slice(2));
  const windows = Math.floor(opts.seconds / (INTERVAL_MS / 1000));
  log(`${opts.nodes} nodes × ${opts.pods} pods, ${windows} windows of ${INTERVAL_MS / 1000} s per node`);

  // The summaries must be what a real agent sends: check a few nodes' against the wire schema first.
  const probe = new SummaryFactory({
    nodes: Math.min(opts.nodes, 5),
    pods: opts.pods,
    intervalMs: INTERVAL_MS,
  });
  for (let n = 0; n < Math.min(opts.nodes, 5); n++)
    for (let k = 0; k < 2; k++)
      NodeSummarySchema.parse(JSON.parse(probe.render(n, k, k * 5000, (k + 1) * 5000).json));
  const factory = new SummaryFactory({ nodes: opts.nodes, pods: opts.pods, intervalMs: INTERVAL_MS });
  const entriesPerSummary = opts.pods + 1;

  // Registered first, run last: a nats-server that never became ready is still our child.
  cleanup.add("stray nats-server children", async () => {
    for (const pid of await childrenNamed(process.pid, "nats-server")) process.kill(pid, "SIGKILL");
  });
  const nats = await startNatsServer();
  cleanup.add("nats-server and its store", () => nats.destroy());
  const natsPid = (await childrenNamed(process.pid, "nats-server"))[0];
  started.natsPid = natsPid;
  if (natsPid) started.natsStore = await storeDirOf(natsPid);
  log(`nats-server ${nats.url} (pid ${natsPid}, store ${started.natsStore})`);

  // With the inspector open (loopback, free port): a forced GC before each memory reading.
  const collector = await startBenchCollector(nats.url, [], withInspector(process.env.NODE_OPTIONS));
  started.collectorPid = collector.child.pid;
  cleanup.add("collector", async () => {
    const code = await collector.stop();
    if (code !== 0) log(`collector exited with ${code}`);
  });
  await collector.waitReady();
  log(`collector pid ${collector.child.pid} on :${collector.port}, ready`);

  const nc = await connect({ servers: nats.url, name: "tcpstate-collector-bench" });
  cleanup.add("publisher connection", () => nc.close());
  const js = jetstream(nc);

  const inspector = inspectorUrl(collector.logs);
  if (!inspector)
    throw new Error(`the collector did not open its inspector: ${JSON.stringify(collector.logs)}`);
  const afterGc = async () => {
    await collectGarbage(inspector);
    return sample(collector, natsPid, () => progress.acked);
  };

  const progress = { acked: 0 };
  await sleep(3000);
  const idle = await afterGc();
  log(`idle collector (after a forced GC): RSS ${mb(idle.rss)} MB, heap used ${mb(idle.heapUsed)} MB`);

  const start = await sample(collector, natsPid, () => 0);
  const t0 = Date.now();
  const health = watchHealth(`http://127.0.0.1:${collector.port}`, collector.child.pid as number);
  const cpu0 = process.cpuUsage();
  const samples: Sample[] = [];
  const stopSampling = new AbortController();
  const sampler = (async () => {
    for (let k = 1; ; k++) {
      try {
        await sleep(Math.max(0, t0 + k * SAMPLE_MS - Date.now()), undefined, { signal: stopSampling.signal });
      } catch {
        return;
      }
      const s = await sample(collector, natsPid, () => progress.acked, k % SCRAPE_EVERY === 0);
      samples.push(s);
      log(
        `t=${((s.at - t0) / 1000).toFixed(0)}s published ${s.published} ingested ${s.ingested} pending ${s.pending} ` +
          `pods ${s.trackedPods} RSS ${mb(s.rss)} MB`,
      );
    }
  })();

  // A CPU profile of the collector over the middle third of the run (at most 10 s).
  const profileLenMs = Math.min(10_000, (opts.seconds * 1000) / 3);
  const profileAt = t0 + (opts.seconds * 1000) / 3;
  const profiling = (async () => {
    await sleep(Math.max(0, profileAt - Date.now()));
    log(`CPU-profiling the collector for ${(profileLenMs / 1000).toFixed(1)} s`);
    return { from: Date.now() - t0, profile: breakdown(await cpuProfile(inspector, profileLenMs)) };
  })().catch((err: Error) => {
    log(`CPU profile failed: ${err.message}`);
    return undefined;
  });

  const stats = await publishSchedule(
    js,
    factory,
    { nodes: opts.nodes, windows, intervalMs: INTERVAL_MS, t0, maxInFlight: MAX_IN_FLIGHT },
    progress,
  );
  log(
    `published ${stats.acked} (${stats.errors} errors) in ${((stats.finishedAt - t0) / 1000).toFixed(1)} s`,
  );

  // Until the collector has applied every acked summary (it follows the stream: nothing is lost, only late).
  const deadline = Date.now() + Math.max(60_000, opts.seconds * 1000);
  let end: Sample;
  let caughtUp = false;
  for (;;) {
    end = await sample(collector, natsPid, () => progress.acked, false);
    if (end.ingested + end.duplicates + end.deadLetters >= stats.acked) {
      caughtUp = true;
      break;
    }
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  const benchCpu = process.cpuUsage(cpu0);
  const healthRecord = await health.stop();
  const cpuProfiled = await profiling;
  stopSampling.abort();
  await sampler;
  log(
    caughtUp
      ? `caught up ${((end.at - stats.finishedAt) / 1000).toFixed(1)} s after the last ack`
      : "not caught up",
  );

  await sleep(2000);
  const loadedRaw = await sample(collector, natsPid, () => progress.acked);
  const loaded = await afterGc();
  log(
    `loaded: ${loaded.trackedPods} tracked pods, RSS ${mb(loadedRaw.rss)} MB, ${mb(loaded.rss)} MB after a forced GC; timing /api/v1/pods`,
  );
  const api = await timePodsApi(collector, 3);
  const final = (await memoryOf(collector.child.pid as number)) ?? { rss: 0, hwm: 0 };

  const run: Run = {
    opts,
    windows,
    entriesPerSummary,
    t0,
    stats,
    idle,
    start,
    samples,
    end,
    caughtUp,
    loadedRaw,
    loaded,
    api,
    final,
    benchCpuMs: (benchCpu.user + benchCpu.system) / 1000,
    cpuProfile: cpuProfiled,
    health: healthRecord,
  };

  // Stop everything before the in-process replay, so it runs alone.
  await cleanup.runAll();
  log(`replaying ${Math.min(opts.nodes, PROFILE_NODES)} nodes × ${WINDOWS_PER_HOUR} windows in-process`);
  run.profile = profileCollector({
    nodes: Math.min(opts.nodes, PROFILE_NODES),
    pods: opts.pods,
    windows: WINDOWS_PER_HOUR,
    intervalMs: INTERVAL_MS,
    checkpoints: [...new Set([1, windows, 60, 120, 360, WINDOWS_PER_HOUR])].sort((a, b) => a - b),
  });
  const { text, targets } = report(run);
  process.stdout.write(`${text}\n`);
  return targets;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function table(head: string[], rows: string[][], align?: string[]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(align ?? head.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Least-squares slope, per second, of ys over the samples' times. */
function trendPerSecond(samples: Sample[], y: (s: Sample) => number): number {
  if (samples.length < 2) return 0;
  const xs = samples.map((s) => s.at / 1000);
  const ys = samples.map(y);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * ((ys[i] as number) - my);
    den += (x - mx) ** 2;
  });
  return den === 0 ? 0 : num / den;
}

/** Retained model heap per entry with one hour of history (the replay's last checkpoint). */
function podHourBytes(p: Profile): number | undefined {
  return p.checkpoints.find((c) => c.windows === WINDOWS_PER_HOUR)?.bytesPerEntry;
}

function report(run: Run): { text: string; targets: Target[] } {
  const { opts, stats, idle, start, samples, end, loadedRaw, loaded, api, final, t0 } = run;
  const expected = opts.nodes * run.windows;
  const targetRate = opts.nodes / (INTERVAL_MS / 1000);
  const publishSeconds = (stats.finishedAt - t0) / 1000;
  const pubRate = stats.acked / publishSeconds;
  const meanBytes = stats.bytes / Math.max(1, stats.acked + stats.errors + stats.duplicates);
  const lateP99 = percentile(stats.latenessMs, 99);
  const lateMax = percentile(stats.latenessMs, 100);
  const behind = lateMax > BEHIND_MS || stats.errors > 0 || stats.acked < expected;

  // Ingest: per 5 s deltas while publishing (the steady state), and overall until caught up.
  const series = [start, ...samples];
  const during = samples.filter((s) => s.at <= stats.finishedAt + 500);
  const rates: number[] = [];
  for (let i = 1; i < series.length; i++) {
    const a = series[i - 1] as Sample;
    const b = series[i] as Sample;
    if (b.at <= stats.finishedAt + 500) rates.push((b.ingested - a.ingested) / ((b.at - a.at) / 1000));
  }
  const runSeconds = (end.at - t0) / 1000;
  const ingestRate = (end.ingested - start.ingested) / runSeconds;

  // Lag: the collector's pending gauge and the backlog (acked − ingested), over the publishing samples.
  const threshold = Math.max(1, 0.02 * targetRate);
  const pendingTrend = trendPerSecond(during, (s) => s.pending);
  const backlogTrend = trendPerSecond(during, (s) => s.published - s.ingested);
  const drainS = (end.at - stats.finishedAt) / 1000;
  const grows = pendingTrend > threshold || backlogTrend > threshold;
  const keepsUp = run.caughtUp && !grows && drainS <= INTERVAL_MS / 1000 && end.deadLetters === 0;

  const cpuPct = (100 * (end.cpuTicks - start.cpuTicks)) / CLOCK_TICKS_PER_SECOND / runSeconds;
  const natsPct = (100 * (end.natsCpuTicks - start.natsCpuTicks)) / CLOCK_TICKS_PER_SECOND / runSeconds;
  const benchPct = (100 * run.benchCpuMs) / 1000 / runSeconds;

  const tracked = loaded.trackedPods;
  // Both readings after a forced GC: what the collector holds, not the parsed summaries awaiting collection.
  const perPod = (loaded.rss - idle.rss) / Math.max(1, tracked);
  const perPodNoGc = (loadedRaw.rss - idle.rss) / Math.max(1, tracked);
  const historyMs = run.windows * INTERVAL_MS;
  const hourFactor = HOUR_MS / historyMs;
  const perPodHour = perPod * hourFactor;
  const heapPerPod = (loaded.heapUsed - idle.heapUsed) / Math.max(1, tracked);
  const heapPerPodHour = heapPerPod * hourFactor;
  const apiSorted = [...api.ms].sort((a, b) => a - b);
  const apiMedian = apiSorted[Math.floor(apiSorted.length / 2)] ?? 0;
  const pendings = during.map((s) => int(s.pending)).join(", ");

  const out: string[] = [];
  out.push(
    `## Collector under ${int(opts.nodes)} nodes × ${opts.pods} pods, one summary per node per ${INTERVAL_MS / 1000} s, ${opts.seconds} s`,
    "",
  );
  const rows: string[][] = [
    [
      "summaries published/s",
      `${pubRate.toFixed(1)}/s`,
      `schedule: ${int(opts.nodes)} nodes ÷ ${INTERVAL_MS / 1000} s = ${targetRate.toFixed(1)}/s; ${int(stats.acked)} of ${int(expected)} acked in ${sec(stats.finishedAt - t0)}, ${stats.errors} errors${stats.firstError ? ` (${stats.firstError})` : ""}, ${stats.duplicates} duplicates`,
    ],
    [
      "summary size",
      kb(meanBytes),
      `${run.entriesPerSummary} entries (${opts.pods} pods + host); ${mb(stats.bytes / publishSeconds)} MB/s into JetStream`,
    ],
    [
      "publisher kept up",
      behind ? "**no — fell behind**" : "yes",
      `start lateness p99 ${lateP99.toFixed(0)} ms, max ${lateMax.toFixed(0)} ms (behind = any > ${BEHIND_MS} ms); ack p50 ${percentile(stats.ackMs, 50).toFixed(1)} ms, p99 ${percentile(stats.ackMs, 99).toFixed(1)} ms, max ${percentile(stats.ackMs, 100).toFixed(0)} ms; max in flight ${stats.maxInFlight} (limit ${MAX_IN_FLIGHT}); render ${(stats.renderMs / Math.max(1, stats.acked)).toFixed(2)} ms/summary`,
    ],
    [
      "ingest rate",
      `${ingestRate.toFixed(1)} windows/s`,
      `t0 → all ingested (${sec(end.at - t0)}); per 5 s while publishing: ${rates.map((r) => r.toFixed(0)).join(", ")}`,
    ],
    [
      "consumer lag (pending, every 5 s)",
      grows ? "**grows**" : "does not grow",
      `${pendings}; trend ${pendingTrend.toFixed(2)} msgs/s (backlog acked − ingested: ${backlogTrend.toFixed(2)} msgs/s; grows = > ${threshold.toFixed(1)} msgs/s)`,
    ],
    [
      "caught up after the last publish",
      run.caughtUp ? sec(end.at - stats.finishedAt) : "**never** (drain deadline)",
      `ingested ${int(end.ingested)}, duplicates ${int(end.duplicates)}, dead letters ${int(end.deadLetters)}`,
    ],
    [
      "collector CPU",
      `${cpuPct.toFixed(1)}% of one core`,
      `utime+stime over t0 → all ingested (${sec(end.at - t0)})`,
    ],
    [
      "collector RSS",
      `${mb(loaded.rss)} MB`,
      `after the run and a forced GC; ${mb(loadedRaw.rss)} MB before that GC; idle ${mb(idle.rss)} MB before publishing (after a forced GC); ${mb(final.rss)} MB at the end (after the API calls); VmHWM ${mb(loaded.hwm)} MB before the API calls, ${mb(final.hwm)} MB at the end`,
    ],
    [
      "collector heap used",
      `${mb(loaded.heapUsed)} MB`,
      `after the run and a forced GC; ${mb(loadedRaw.heapUsed)} MB before it; idle ${mb(idle.heapUsed)} MB`,
    ],
    ["tracked pods", int(tracked), `${opts.pods} pods + 1 host entry per node`],
    [
      "bytes per tracked pod",
      `${int(perPod)} B`,
      `(RSS after − idle RSS) ÷ tracked pods, both after a forced GC, ${run.windows} windows of history each; heap used: ${int(heapPerPod)} B; RSS without the GC: ${int(perPodNoGc)} B`,
    ],
    [
      "bytes per pod-hour",
      kb(perPodHour),
      `extrapolated: ${run.windows} windows (${sec(historyMs)}) of history × ${hourFactor.toFixed(0)} = ${WINDOWS_PER_HOUR} windows (the default --history 1h); by heap used: ${kb(heapPerPodHour)}`,
    ],
    [
      "/api/v1/pods once loaded",
      `${apiMedian.toFixed(0)} ms`,
      `median of ${api.ms.length} (${api.ms.map((m) => m.toFixed(0)).join(", ")} ms); ${mb(api.bytes)} MB, ${int(api.pods)} pods`,
    ],
    [
      "others on the box",
      `nats-server ${natsPct.toFixed(1)}%, publisher ${benchPct.toFixed(1)}%`,
      "of one core, same interval (they share the machine's cores with the collector)",
    ],
  ];
  out.push(table(["measure", "value", "detail"], rows), "");

  const hour = run.profile && podHourBytes(run.profile);
  const { health } = run;
  const targets: Target[] = [
    {
      name: "keeps up with no growing lag",
      held: keepsUp,
      detail: `pending trend ${pendingTrend.toFixed(2)} msgs/s, backlog trend ${backlogTrend.toFixed(2)} msgs/s, caught up ${run.caughtUp ? `${drainS.toFixed(1)} s` : "never"} after the last publish; held = not growing, all ingested within one ${INTERVAL_MS / 1000} s window${behind ? " — note: the publisher itself fell behind, so the offered load was lower than scheduled" : ""}`,
    },
    {
      name: `answers /healthz within ${HEALTH_DEADLINE_MS / 1000} s throughout`,
      held: health.failures.length === 0 && health.slowestMs < HEALTH_DEADLINE_MS,
      detail: `${health.checks} checks every 200 ms from the first publish until all was ingested, slowest ${health.slowestMs.toFixed(0)} ms, ${health.failures.length} failed${health.failures[0] ? ` (${health.failures[0]})` : ""}`,
    },
    {
      name: `≤ ${kb(TARGET_BYTES_PER_POD_HOUR)} per pod-hour`,
      held: hour !== undefined && hour <= TARGET_BYTES_PER_POD_HOUR,
      detail:
        hour === undefined
          ? "not measured"
          : `${kb(hour)}: the model's retained heap per entry after a full simulated hour (${WINDOWS_PER_HOUR} windows, in-process replay below). For comparison, not a target: RSS per tracked pod after ${run.windows} windows × ${hourFactor.toFixed(0)} = ${kb(perPodHour)}, heap × ${hourFactor.toFixed(0)} = ${kb(heapPerPodHour)} — these scale a pod's fixed cost (identity, newest entry) with its history too`,
    },
  ];
  out.push("Targets:", "", ...verdictLines(targets), "");

  out.push("### Every 5 s", "");
  const ts: string[][] = [];
  let prev = start;
  for (const s of samples) {
    const dt = (s.at - prev.at) / 1000;
    ts.push([
      ((s.at - t0) / 1000).toFixed(0),
      int(s.published),
      int(s.ingested),
      ((s.ingested - prev.ingested) / dt).toFixed(0),
      int(s.pending),
      int(s.published - s.ingested),
      int(s.trackedPods),
      ((100 * (s.cpuTicks - prev.cpuTicks)) / CLOCK_TICKS_PER_SECOND / dt).toFixed(0),
      mb(s.rss),
      Number.isNaN(s.heapUsed) ? "–" : mb(s.heapUsed),
      Number.isNaN(s.scrapeMs) ? "–" : s.scrapeMs.toFixed(0),
    ]);
    prev = s;
  }
  out.push(
    table(
      [
        "t (s)",
        "published",
        "ingested",
        "ingest/s",
        "pending",
        "backlog",
        "tracked pods",
        "CPU %",
        "RSS MB",
        "heap used MB",
        "/metrics ms (a full scrape every 15 s; /readyz between)",
      ],
      ts,
      ["---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"],
    ),
    "",
  );

  const cp = run.cpuProfile;
  if (cp) {
    const { profile: b } = cp;
    const share = (ms: number) => `${((100 * ms) / b.busyMs).toFixed(1)}%`;
    const core = (ms: number) => `${((100 * ms) / b.wallMs).toFixed(1)}%`;
    out.push(
      `### Where the collector's CPU goes (V8 CPU profile over the inspector, t = ${(cp.from / 1000).toFixed(0)}–${((cp.from + b.wallMs) / 1000).toFixed(0)} s: self time; the profiler adds some overhead to those samples)`,
      "",
      table(
        ["category", "ms", "% of busy", "% of one core"],
        [
          ...b.categories.map((c) => [c.name, c.ms.toFixed(0), share(c.ms), core(c.ms)]),
          ["total (not idle)", b.busyMs.toFixed(0), "100%", core(b.busyMs)],
        ],
        ["---", "---:", "---:", "---:"],
      ),
      "",
      table(
        ["top functions (self time)", "ms", "% of busy"],
        b.top.map((f) => [f.name.replaceAll("|", "\\|"), f.ms.toFixed(0), share(f.ms)]),
        ["---", "---:", "---:"],
      ),
      "",
    );
  }

  const p = run.profile;
  if (p) {
    const rate = targetRate;
    const pct = (ms: number) => `${((ms * rate) / 10).toFixed(1)}%`;
    const total = p.decodeMs + p.zodMs + p.applyMs;
    out.push(
      `### Where it goes (the collector's decode and model code replayed in this process: ${int(p.nodes)} nodes, ${int(p.entries)} entries, ${p.windows} windows = one hour)`,
      "",
      table(
        ["stage", "ms per summary", `% of one core at ${rate.toFixed(0)} summaries/s`],
        [
          ["TextDecoder + JSON.parse", p.decodeMs.toFixed(3), pct(p.decodeMs)],
          ["zod NodeSummarySchema.safeParse", p.zodMs.toFixed(3), pct(p.zodMs)],
          ["ClusterModel.apply", p.applyMs.toFixed(3), pct(p.applyMs)],
          ["total", total.toFixed(3), pct(total)],
        ],
        ["---", "---:", "---:"],
      ),
      "",
      table(
        ["windows of history", "retained model heap per entry (after forced GC)"],
        p.checkpoints.map((c) => [
          `${c.windows} (${sec(c.windows * INTERVAL_MS)})`,
          `${int(c.bytesPerEntry)} B (${kb(c.bytesPerEntry)})`,
        ]),
        ["---:", "---:"],
      ),
      "",
      `Decode + model alone would be ${pct(total)} of one core at this rate; the collector measured ${cpuPct.toFixed(1)}% (the rest: see its CPU profile above — NATS client for ${mb(meanBytes * pubRate)} MB/s of messages, GC, /metrics).`,
    );
  }
  return { text: out.join("\n"), targets };
}

runBench("collector-bench", main, leftovers, (err) =>
  err instanceof BenchError ? err.message : (err.stack ?? err.message),
);
