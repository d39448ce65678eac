// npm run bench:gauges (as root): the cost of ONE gauge pass of the agent (NetnsGaugeReader.read) over 1, 10
// and 100 pod network namespaces, with 10k and 100k TCP sockets held elsewhere on the node, for an idle pass
// (nothing changed since the previous pass), a busy pass (every netns made transitions: gauges derived from the
// transition ledger), a busy pass with the one re-baseline read the budget allows, a pass that reads every
// netns's socket table (the agent before derived gauges; now after a bpftrace restart) and a naive exporter
// that reads every netns's /proc/net/tcp and tcp6 in full. Prints a markdown table and the verdict per target
// (exit 3 when one is missed).
//
// Pods are network namespaces from netns-lab/pod-network.ts; the node's sockets are ESTABLISHED loopback
// connections in one separate "load" netns (bench/gauges-load.ts). Both the socket-table dump (sock_diag) and
// /proc/net/tcp walk the kernel's one shared established hash, filtering by netns, so their cost in an empty
// pod netns still grows with every socket on the node.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { availableParallelism, release, tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { processHandle } from "../agent/attribution/netns-handle.js";
import { REBASELINE_MS } from "../agent/gauges/derived-gauges.js";
import { NetnsGaugeReader } from "../agent/gauges/netns-gauges.js";
import { TransitionLedger } from "../agent/gauges/transition-ledger.js";
import { TcpState } from "../agent/probe/tcp-state.js";
import { createPodNetwork, type Pod, type PodNetwork } from "../netns-lab/pod-network.js";
import { type Cleanup, runBench } from "./cleanup.js";
import { buildLoad, LOAD_BIN_NAME, startLoad } from "./gauges-load.js";
import { type Cell, measure, naivePass, type Sample, summarize } from "./gauges-measure.js";
import { commOf } from "./procfs.js";
import { type Target, verdictLines } from "./verdict.js";

const log = (msg: string) => process.stderr.write(`[gauges-bench] ${msg}\n`);

const PROC = "/proc";
/** The agent's socket-table reads in flight (what the agent runs with). */
const CONCURRENCY = 2;
/** The target: CPU of one pass (one pass per 5 s window) at 100 netns × 100k sockets. */
const TARGET_CPU_MS = 100;
const TARGET_NETNS = 100;
const TARGET_SOCKETS = 100_000;
/** Pods created at once (addPod runs ~10 `ip` commands and waits for a pause process). */
const ADD_POD_CONCURRENCY = 8;

function listOf(env: string | undefined, fallback: number[]): number[] {
  if (!env) return fallback;
  const xs = env.split(",").map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`bad list of positive integers: ${env}`);
  return xs;
}

// Overridable for quick runs; the defaults are the benchmark.
const SOCKET_LEVELS = listOf(process.env.GAUGES_BENCH_SOCKETS, [10_000, 100_000]);
const NETNS_COUNTS = listOf(process.env.GAUGES_BENCH_NETNS, [1, 10, 100]);

/** Measured passes per cell: more where one pass is short, since child CPU comes in 10 ms ticks. */
function passesFor(netns: number): number {
  return netns <= 1 ? 30 : netns <= 10 ? 12 : 5;
}

interface Row {
  netns: number;
  sockets: number;
  idle: Cell;
  /** Every netns made transitions: gauges derived from the flows (the agent now). */
  busy: Cell;
  /** The same, with the one optional table read per pass the budget allows (a re-baseline). */
  busyRebaseline: Cell;
  /** Every netns's table read (the agent before; now only while netns seek a baseline). */
  allChanged: Cell;
  naive: Cell;
}

/** One client connection's transitions, as the kernel counts them: 7→2→1→4→5→7 (net: nothing left). */
const CONNECTION = [
  [TcpState.CLOSE, TcpState.SYN_SENT],
  [TcpState.SYN_SENT, TcpState.ESTABLISHED],
  [TcpState.ESTABLISHED, TcpState.FIN_WAIT1],
  [TcpState.FIN_WAIT1, TcpState.FIN_WAIT2],
  [TcpState.FIN_WAIT2, TcpState.CLOSE],
] as const;

/**
 * The kernel's ticks, made by hand: what transitions.bt's flushes tell the ledger, with the tick's real
 * CLOCK_MONOTONIC time (the reader lines its table reads up with them). `connections` per netns per tick.
 */
function ticker(ledger: TransitionLedger) {
  let seq = 0;
  return (inodes: Iterable<number>, connections: number) => {
    seq++;
    ledger.flushBegin(seq, Number(process.hrtime.bigint() / 1000n), false);
    if (connections > 0)
      for (const inode of inodes) for (const [o, n] of CONNECTION) ledger.add(inode, o, n, connections);
    ledger.flushEnd(seq);
  };
}

async function addPods(net: PodNetwork, count: number): Promise<{ pods: Pod[]; msPerPod: number[] }> {
  const pods: Pod[] = new Array(count);
  const msPerPod: number[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const t0 = performance.now();
      // One /24 on the run's bridge: 10.245.0.2 … 10.245.0.101 (the load netns takes .250).
      pods[i] = await net.addPod(`p${i}`, {
        ipv4: `10.245.0.${i + 2}`,
        ipv6: `fd00:245::${(i + 2).toString(16)}`,
      });
      msPerPod.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ADD_POD_CONCURRENCY, count) }, worker));
  return { pods, msPerPod };
}

async function measureRow(pods: Pod[], sockets: number): Promise<Row> {
  const netns = new Map(pods.map((p) => [p.netnsInode, processHandle(p.pausePid)]));
  const all = new Set(netns.keys());
  const none = new Set<number>();
  const passes = passesFor(pods.length);
  // The agent's reader: a live ledger fed by hand-made ticks, on a clock that moves one 5 s window per pass.
  const ledger = new TransitionLedger();
  ledger.start();
  const tick = ticker(ledger);
  const clock = { ms: Date.now() };
  const reader = new NetnsGaugeReader({
    procRoot: PROC,
    concurrency: CONCURRENCY,
    ledger,
    clock: () => clock.ms,
  });
  // The agent before derived gauges: every changed netns's table, every pass.
  const legacy = new NetnsGaugeReader({ procRoot: PROC, concurrency: CONCURRENCY });

  const gaugePass = async (
    r: NetnsGaugeReader,
    active: ReadonlySet<number>,
    samples: Sample[],
    tables: number[],
  ) => {
    const before = r.tableReads;
    let size = 0;
    samples.push(
      await measure(async () => {
        size = (await r.read(netns, active)).size;
      }),
    );
    tables.push(r.tableReads - before);
    clock.ms += 5000;
    if (size !== netns.size) throw new Error(`gauge pass returned ${size} of ${netns.size} netns`);
  };
  /** A window's worth of ticks (two are enough to settle every read of the pass before). */
  const window = (connections: number) => {
    tick(all, connections);
    tick(all, connections);
  };

  // First sight: every table read once; adopted as baselines once the ticks around the reads are in.
  await reader.read(netns, none);
  window(0);
  await reader.read(netns, none);
  if (reader.tableReads !== netns.size) throw new Error(`first sight read ${reader.tableReads} tables`);

  // a) idle: nothing changed since the last pass.
  const idle: Sample[] = [];
  const idleTables: number[] = [];
  for (let i = 0; i < passes; i++) {
    window(0);
    await gaugePass(reader, none, idle, idleTables);
  }

  // b) busy: every netns made 10 connections per tick (50 transitions) since the last pass. Gauges derived;
  // each netns's sockstat is checked against the derived total. One unmeasured warm-up.
  window(10);
  await reader.read(netns, all);
  const busy: Sample[] = [];
  const busyTables: number[] = [];
  for (let i = 0; i < passes; i++) {
    window(10);
    await gaugePass(reader, all, busy, busyTables);
  }
  if (busyTables.some((t) => t !== 0)) throw new Error(`busy passes read ${busyTables.join(",")} tables`);

  // c) busy, each pass REBASELINE_MS after the last: every netns is due a periodic read; the budget allows
  // one per pass.
  const rebaseline: Sample[] = [];
  const rebaselineTables: number[] = [];
  for (let i = 0; i < passes; i++) {
    clock.ms += REBASELINE_MS;
    window(10);
    await gaugePass(reader, all, rebaseline, rebaselineTables);
  }
  if (rebaselineTables.some((t) => t !== 1))
    throw new Error(`re-baseline passes read ${rebaselineTables.join(",")} tables, expected 1 each`);

  // d) all changed, the agent before: every netns had transitions, so every table is read. One unmeasured
  // warm-up. (The agent now reads them all only while they seek a baseline: first sight, bpftrace restarts.)
  await legacy.read(netns, all);
  const changed: Sample[] = [];
  const changedTables: number[] = [];
  for (let i = 0; i < passes; i++) await gaugePass(legacy, all, changed, changedTables);
  if (changedTables.some((t) => t !== netns.size)) {
    throw new Error(`all-changed pass read ${changedTables.join(",")} tables, expected ${netns.size} each`);
  }

  // c) naive: /proc/<pid>/net/tcp + tcp6 of every netns, in full. One unmeasured warm-up.
  const pids = pods.map((p) => p.pausePid);
  await naivePass(PROC, pids, CONCURRENCY);
  const naive: Sample[] = [];
  for (let i = 0; i < passes; i++) {
    let size = 0;
    naive.push(
      await measure(async () => {
        size = (await naivePass(PROC, pids, CONCURRENCY)).size;
      }),
    );
    if (size !== pids.length) throw new Error(`naive pass read ${size} of ${pids.length} netns`);
  }

  return {
    netns: pods.length,
    sockets,
    idle: summarize(idle, idleTables),
    busy: summarize(busy, busyTables),
    busyRebaseline: summarize(rebaseline, rebaselineTables),
    allChanged: summarize(changed, changedTables),
    naive: summarize(
      naive,
      naive.map(() => 0),
    ),
  };
}

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const int = (x: number) => x.toLocaleString("en-US");

async function ehashEntries(): Promise<string> {
  const text = await readFile("/proc/sys/net/ipv4/tcp_ehash_entries", "utf8").catch(() => undefined);
  return text ? int(Math.abs(Number(text.trim()))) : "unknown";
}

/** ≤ TARGET_CPU_MS per window at TARGET_NETNS × TARGET_SOCKETS, for the idle pass, the busy one, and with one re-baseline. */
function targetsOf(rows: Row[]): Target[] {
  const at = `${TARGET_NETNS} netns × ${int(TARGET_SOCKETS)} sockets`;
  const row = rows.find((r) => r.netns === TARGET_NETNS && r.sockets >= TARGET_SOCKETS);
  const passes = [
    ["idle pass", (r: Row) => r.idle],
    ["busy pass (every netns changed)", (r: Row) => r.busy],
    ["busy pass with the one re-baseline read a pass may add", (r: Row) => r.busyRebaseline],
  ] as const;
  return passes.map(([what, cell]) => ({
    name: `${what} ≤ ${TARGET_CPU_MS} ms CPU per 5 s window at ${at}`,
    held: row !== undefined && cell(row).cpuMs <= TARGET_CPU_MS,
    detail: row
      ? `${ms(cell(row).cpuMs)} ms with ${int(row.sockets)} sockets; every table read (before; now only while netns seek a baseline): ${ms(row.allChanged.cpuMs)} ms`
      : "not measured in this run",
  }));
}

function report(rows: Row[], info: string[]): string {
  const out: string[] = [];
  out.push("## Gauge pass cost (one pass of NetnsGaugeReader.read, concurrency 2)", "");
  out.push(...info, "");
  out.push(
    "| netns | node sockets | idle CPU ms | busy CPU ms | busy wall ms | busy + 1 re-baseline CPU ms | every table read (before; now while seeking a baseline) CPU ms | wall ms | naive /proc/net/tcp CPU ms | naive wall ms | naive ÷ busy (CPU) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of rows) {
    const ratio = r.busy.cpuMs > 0 ? `${(r.naive.cpuMs / r.busy.cpuMs).toFixed(1)}×` : "∞";
    out.push(
      `| ${r.netns} | ${int(r.sockets)} | ${ms(r.idle.cpuMs)} | ${ms(r.busy.cpuMs)} | ${ms(r.busy.wallMs)} | ${ms(r.busyRebaseline.cpuMs)} | ${ms(r.allChanged.cpuMs)} | ${ms(r.allChanged.wallMs)} | ${ms(r.naive.cpuMs)} | ${ms(r.naive.wallMs)} | ${ratio} |`,
    );
  }
  out.push("");
  out.push(...verdictLines(targetsOf(rows)));
  out.push(
    "",
    "- CPU = this node process (process.cpuUsage, all threads) + exited children (nsenter/ss: /proc/self/stat " +
      "cutime+cstime, 10 ms ticks), mean over the passes; wall = median. Node sockets = `ss -Htan | wc -l` in the " +
      "load netns (ESTABLISHED loopback connections, both ends, + listeners); the pod netns hold no sockets.",
    "- idle = nothing changed since the last pass (counters only: sockstat, snmp, netstat); busy = every netns made " +
      "50 transitions per 1 s tick since the last pass (fed to the ledger by hand, as transitions.bt's flushes " +
      "would): gauges derived, sockstat(6) checked against the derived totals, no table read; busy + 1 " +
      "re-baseline = the same 10 min later, when every netns is due a periodic read and the budget allows one " +
      "per pass; every table read = the agent before (one `nsenter … ss -Htane` per changed netns; now only while " +
      "a netns seeks a baseline: first sight, bpftrace restarts, drift, at most 6 passes); naive = readFile /proc/<pid>/net/tcp + tcp6, split lines, count " +
      "`st`, same concurrency.",
    "",
    "<details><summary>CPU split, passes, tables read</summary>",
    "",
    "| netns | node sockets | passes | idle self / child ms | busy self / child ms | busy tables/pass | busy + re-baseline self / child ms | tables/pass | every table self / child ms | tables/pass | naive self / child ms |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of rows) {
    out.push(
      `| ${r.netns} | ${int(r.sockets)} | ${r.idle.passes} | ${ms(r.idle.selfMs)} / ${ms(r.idle.childMs)} | ${ms(r.busy.selfMs)} / ${ms(r.busy.childMs)} | ${r.busy.tablesRead} | ${ms(r.busyRebaseline.selfMs)} / ${ms(r.busyRebaseline.childMs)} | ${r.busyRebaseline.tablesRead} | ${ms(r.allChanged.selfMs)} / ${ms(r.allChanged.childMs)} | ${r.allChanged.tablesRead} | ${ms(r.naive.selfMs)} / ${ms(r.naive.childMs)} |`,
    );
  }
  out.push("", "</details>");
  return out.join("\n");
}

async function main(cleanup: Cleanup): Promise<Target[]> {
  if (process.getuid?.() !== 0) throw new Error("run as root: it creates network namespaces");
  const dir = await mkdtemp(`${tmpdir()}/tcpstate-gauges-`);
  cleanup.add("temp dir", () => rm(dir, { recursive: true, force: true }));
  const bin = await buildLoad(dir);
  binPath = bin;

  const net = await createPodNetwork({ prefix: "gb" });
  netPrefix = net.prefix;
  cleanup.add(`pods ${net.prefix}`, () => net.destroy());
  const podCount = Math.max(...NETNS_COUNTS);
  const t0 = performance.now();
  const { pods, msPerPod } = await addPods(net, podCount);
  const addSeconds = (performance.now() - t0) / 1000;
  const perPod = msPerPod.reduce((a, b) => a + b, 0) / msPerPod.length;
  log(
    `${podCount} pods in ${addSeconds.toFixed(1)} s (${ADD_POD_CONCURRENCY} at once; addPod ${perPod.toFixed(0)} ms mean, ${Math.max(...msPerPod).toFixed(0)} ms max)`,
  );

  const loadPod = await net.addPod("load", { ipv4: "10.245.0.250", ipv6: "fd00:245::fa" });
  const load = await startLoad(bin, loadPod, cleanup);
  const rows: Row[] = [];
  for (const level of SOCKET_LEVELS) {
    const connections = Math.ceil(Math.max(level - load.listeners, 0) / 2);
    const t1 = performance.now();
    await load.hold(connections);
    const sockets = await load.countSockets();
    log(
      `holding ${int(connections)} connections: ${int(sockets)} sockets in the load netns (${((performance.now() - t1) / 1000).toFixed(1)} s)`,
    );
    for (const n of NETNS_COUNTS) {
      const t2 = performance.now();
      const row = await measureRow(pods.slice(0, n), sockets);
      rows.push(row);
      log(
        `${n} netns × ${int(sockets)} sockets: idle ${ms(row.idle.cpuMs)} ms CPU, busy ${ms(row.busy.cpuMs)} ms, busy + re-baseline ${ms(row.busyRebaseline.cpuMs)} ms, every table ${ms(row.allChanged.cpuMs)} ms, naive ${ms(row.naive.cpuMs)} ms (${((performance.now() - t2) / 1000).toFixed(1)} s)`,
      );
    }
    const after = await load.countSockets();
    if (Math.abs(after - sockets) > sockets * 0.01) {
      throw new Error(`the load changed during the measurement: ${sockets} → ${after} sockets`);
    }
  }

  const info = [
    `Machine: ${availableParallelism()} CPUs, kernel ${release()}, TCP established hash ${await ehashEntries()} buckets ` +
      `(shared by every netns). ${podCount} pods (netns + veth on a bridge + pause process) created in ` +
      `${addSeconds.toFixed(1)} s, ${ADD_POD_CONCURRENCY} at once (addPod ${perPod.toFixed(0)} ms mean).`,
  ];
  process.stdout.write(`${report(rows, info)}\n`);
  return targetsOf(rows);
}

let netPrefix: string | undefined;
let binPath: string | undefined;

/** Our load generator's processes (main and workers): comm matches and the command line is ours (or already
 * empty: a process that is exiting, closing its sockets). */
async function loadProcesses(): Promise<number[]> {
  const pids = (await readdir("/proc")).filter((n) => /^\d+$/.test(n)).map(Number);
  const found: number[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      if ((await commOf(pid)) !== LOAD_BIN_NAME) return;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
      if (cmdline === "" || (binPath && cmdline?.startsWith(binPath))) found.push(pid);
    }),
  );
  return found;
}

/** Anything of this run still alive after cleanup: namespaces of our prefix, the load generator. Waits up to
 * 30 s for exiting processes (a worker closing ~10k sockets takes a moment). */
async function leftovers(): Promise<string[]> {
  let found: string[] = [];
  for (let i = 0; i < 300; i++) {
    const names = netPrefix ? await readdir("/run/netns").catch(() => [] as string[]) : [];
    found = [
      ...names.filter((n) => n.startsWith(`${netPrefix}-`)).map((n) => `netns ${n}`),
      ...(await loadProcesses()).map((pid) => `process ${pid} (${LOAD_BIN_NAME})`),
    ];
    if (found.length === 0) break;
    await sleep(100);
  }
  return found;
}

runBench("gauges-bench", main, leftovers);
