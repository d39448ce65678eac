// bench:query — the collector's ranking query at cluster scale: p50/p99 latency of
// GET /api/v1/pods?sort=churn&window=5m&limit=20 over HTTP with 50,000 tracked pods and 1 h of 5 s history, beside
// the naive ranking (decode every pod's last 5 minutes, sort) measured in the same run, and the memory it takes.
// Options: --nodes 1000 --pods 50 (per node) --history 1h --interval 5s --requests 200
// Ends with the verdict per target (p99 ≤ 50 ms, the same ranking as the naive one); exits 3 when one is missed.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ClusterModel } from "../collector/model/cluster-model.js";
import type { PodRecord } from "../collector/model/pod-record.js";
import { listPods } from "../collector/query/pod-query.js";
import { PodRanking } from "../collector/query/pod-ranking.js";
import { podSummary } from "../collector/query/pod-views.js";
import { PodListQuerySchema } from "../collector/query/query-params.js";
import { windowStats } from "../collector/query/window-stats.js";
import { DURATION_EXAMPLES, parseDuration } from "../common/duration.js";
import { serveModel } from "../test/support/model-http.js";
import { runBench } from "./cleanup.js";
import { SummaryFactory } from "./collector-summaries.js";
import { type Target, verdictLines } from "./verdict.js";

interface Options {
  nodes: number;
  pods: number;
  historyMs: number;
  intervalMs: number;
  requests: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { nodes: 1000, pods: 50, historyMs: 3_600_000, intervalMs: 5000, requests: 200 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ""];
    const duration = () => {
      const ms = parseDuration(value);
      if (ms === null)
        throw new Error(
          `${flag}: expected a duration like ${DURATION_EXAMPLES}, got ${JSON.stringify(value)}`,
        );
      return ms;
    };
    const count = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`${flag}: expected a whole number >= 1, got "${value}"`);
      return n;
    };
    if (flag === "--nodes") o.nodes = count();
    else if (flag === "--pods") o.pods = count();
    else if (flag === "--history") o.historyMs = duration();
    else if (flag === "--interval") o.intervalMs = duration();
    else if (flag === "--requests") o.requests = count();
    else throw new Error(`unknown option ${flag}; accepted: --nodes --pods --history --interval --requests`);
  }
  return o;
}

const gc = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

function percentile(ms: number[], p: number): number {
  const sorted = [...ms].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function time(times: number, fn: () => unknown): number[] {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** The obvious way: every pod's exact counters over the window, then sort. What the buckets save. */
function naiveTop(model: ClusterModel, since: number, limit: number) {
  const all: { r: PodRecord; stats: ReturnType<typeof windowStats> }[] = [];
  for (const r of model.podRecords()) if (r.lastSeen > since) all.push({ r, stats: windowStats(r, since) });
  all.sort((a, b) => b.stats.churnPerSecond - a.stats.churnPerSecond || (a.r.key < b.r.key ? -1 : 1));
  return all.slice(0, limit).map(({ r, stats }) => podSummary(r, stats, null));
}

const table = (head: string[], rows: string[][]) =>
  [head, head.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
const ms = (v: number) => v.toFixed(1);
const mb = (bytes: number) => (bytes / 1e6).toFixed(0);

/** The ranking query's latency target over HTTP. */
const TARGET_P99_MS = 50;

async function main(): Promise<Target[]> {
  const o = parseOptions(process.argv.slice(2));
  const windows = Math.round(o.historyMs / o.intervalMs);
  const end = Date.now();
  const start = end - windows * o.intervalMs;
  const model = new ClusterModel(o.historyMs, 24 * 3_600_000, () => end);
  const factory = new SummaryFactory({ nodes: o.nodes, pods: o.pods, intervalMs: o.intervalMs, seed: 7 });
  gc();
  const before = process.memoryUsage();
  process.stderr.write(
    `loading ${o.nodes} nodes × ${o.pods} pods × ${windows} windows of ${o.intervalMs / 1000} s…\n`,
  );
  const t0 = performance.now();
  for (let w = 0; w < windows; w++) {
    for (let n = 0; n < o.nodes; n++)
      model.apply(factory.vary(n, w, start + w * o.intervalMs, start + (w + 1) * o.intervalMs));
    if (w % 60 === 59) process.stderr.write(`  ${w + 1}/${windows} windows\n`);
  }
  const loadS = (performance.now() - t0) / 1000;
  gc();
  const loaded = process.memoryUsage();

  const http = await serveModel(model, { clock: () => end });
  const path = "/api/v1/pods?sort=churn&window=5m&limit=20";
  const url = `http://127.0.0.1:${http.port}${path}`;
  let firstBody: { pods: { uid: string }[] } | undefined;
  const httpMs: number[] = [];
  for (let i = 0; i < o.requests + 10; i++) {
    const t = performance.now();
    const res = await fetch(url);
    const body = (await res.json()) as { pods: { uid: string }[] };
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    if (i >= 10) httpMs.push(performance.now() - t);
    firstBody ??= body;
  }
  await http.close();

  const q = PodListQuerySchema.parse({ sort: "churn", window: "5m", limit: "20" });
  const ranking = new PodRanking();
  const fastMs = time(o.requests, () => listPods(model, null, q, end, ranking));
  const naiveRuns = Math.max(5, Math.round(o.requests / 10));
  let naive: ReturnType<typeof naiveTop> = [];
  const naiveMs = time(naiveRuns, () => {
    naive = naiveTop(model, end - q.window, q.limit);
  });
  const same = JSON.stringify(naive.map((p) => p.uid)) === JSON.stringify(firstBody?.pods.map((p) => p.uid));

  const naiveP99 = percentile(naiveMs, 99);
  const httpP99 = percentile(httpMs, 99);
  const targets: Target[] = [
    {
      name: `HTTP p99 ≤ ${TARGET_P99_MS} ms`,
      held: httpP99 <= TARGET_P99_MS,
      detail: `${ms(httpP99)} ms over ${httpMs.length} requests`,
    },
    {
      name: "the same 20 pods in the same order as the naive ranking",
      held: same,
      detail: same ? "yes" : "NO",
    },
  ];
  const row = (name: string, runs: number[]) => [
    name,
    String(runs.length),
    ms(percentile(runs, 50)),
    ms(percentile(runs, 99)),
    `${(naiveP99 / percentile(runs, 99)).toFixed(0)}×`,
  ];
  const pods = model.trackedPods;
  process.stdout.write(
    [
      `## bench:query — ${pods.toLocaleString("en-US")} tracked pods (${o.nodes} nodes × ${o.pods} pods + host), ${windows} windows of ${o.intervalMs / 1000} s (${o.historyMs / 60_000} min) each`,
      "",
      table(
        ["query: top 20 by churn over 5m", "runs", "p50 ms", "p99 ms", "naive p99 ÷ this p99"],
        [
          row(`HTTP GET ${path} (target p99 ≤ ${TARGET_P99_MS} ms)`, httpMs),
          row("listPods in process (no HTTP, no JSON)", fastMs),
          row("naive, in process: decode every pod's last 5 min, sort", naiveMs),
        ],
      ),
      "",
      "Targets:",
      "",
      ...verdictLines(targets),
      "",
      table(
        ["memory", "MB", "per tracked pod"],
        [
          [
            "heap used, model loaded (after GC)",
            mb(loaded.heapUsed),
            `${((loaded.heapUsed - before.heapUsed) / pods / 1024).toFixed(1)} KiB`,
          ],
          [
            "RSS, model loaded",
            mb(loaded.rss),
            `${((loaded.rss - before.rss) / pods / 1024).toFixed(1)} KiB`,
          ],
        ],
      ),
      "",
      `Loading took ${loadS.toFixed(0)} s (${((windows * pods) / loadS / 1e6).toFixed(2)} M pod-windows/s).`,
      "",
    ].join("\n"),
  );
  return targets;
}

runBench(
  "bench:query",
  () => main(),
  async () => [],
);
