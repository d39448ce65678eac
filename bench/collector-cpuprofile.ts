// A V8 CPU profile of the collector (taken over the inspector during the run), summed by self time: into
// categories (JSON.parse, zod, NATS client, GC, …) and the top functions.
import type { CpuProfile } from "./collector-inspector.js";

export interface CpuBreakdown {
  /** Profiled wall time, ms. */
  wallMs: number;
  /** Non-idle self time, ms. */
  busyMs: number;
  categories: { name: string; ms: number }[];
  top: { name: string; ms: number }[];
}

type Frame = CpuProfile["nodes"][number]["callFrame"];

function category(f: Frame): string {
  const { functionName: fn, url } = f;
  if (fn === "(idle)") return "idle";
  if (fn === "(garbage collector)") return "garbage collection";
  if (fn === "(program)") return "V8 (program: compiling, runtime, native glue)";
  if (url.includes("/zod/")) return "zod (NodeSummarySchema.safeParse)";
  if (url.includes("@nats-io")) return "NATS client (@nats-io: protocol parsing, ordered consumer)";
  if (url.includes("prom-client")) return "prom-client (/metrics)";
  if (url.includes("/pino")) return "pino (logging)";
  if (url.includes("/collector/model/")) return "collector model (ClusterModel, PodRecord, series codec)";
  // JSON.parse and TextDecoder.decode run as C++ builtins: the profiler counts them as their caller's self time.
  if (url.includes("/collector/ingest/decode-summary"))
    return "decodeSummary self time (JSON.parse, TextDecoder)";
  if (url.includes("/collector/")) return "collector ingest / http";
  if (url.includes("/agent/wire/")) return "wire helpers (agent/wire)";
  if (url === "" && fn === "parse") return "JSON.parse";
  if (url === "" && fn === "stringify") return "JSON.stringify";
  if (url === "") return `V8 builtins (${fn || "anonymous"} …)`;
  if (url.startsWith("node:")) return "Node internals (net, streams, TextDecoder, timers)";
  return "other";
}

function where(f: Frame): string {
  const url = f.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, "$1/");
  return url ? `${url}:${f.lineNumber + 1}` : "builtin";
}

export function breakdown(p: CpuProfile): CpuBreakdown {
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time before sample i: sample i lasted until the next one.
    const us = p.timeDeltas[i + 1] ?? 0;
    const id = p.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, us));
  }
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  for (const node of p.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0 || node.callFrame.functionName === "(root)") continue;
    let c = category(node.callFrame);
    // Small builtins are one row together, so the table stays short.
    if (c.startsWith("V8 builtins (")) {
      c = "V8 builtins (other)";
    }
    byCategory.set(c, (byCategory.get(c) ?? 0) + us);
    if (c === "idle") continue;
    busy += us;
    const name = `${node.callFrame.functionName || "(anonymous)"} — ${where(node.callFrame)}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) =>
    [...m].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
  return {
    wallMs: (p.endTime - p.startTime) / 1000,
    busyMs: busy / 1000,
    categories: sorted(byCategory).filter((c) => c.name !== "idle"),
    top: sorted(byFunction).slice(0, 12),
  };
}
