// Where the collector's CPU and memory go, measured in this process on the same summaries: the collector's own
// decode (bytes → JSON.parse → zod) and model code, timed per stage, and the model's retained heap after a
// forced GC, window by window (so a pod's fixed cost and its cost per window of history come apart).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { NodeSummarySchema } from "../agent/wire/summary.js";
import { CollectorConfigSchema } from "../collector/config.js";
import { ClusterModel } from "../collector/model/cluster-model.js";
import { SummaryFactory } from "./collector-summaries.js";

export interface Profile {
  nodes: number;
  entries: number;
  windows: number;
  /** ms per summary. */
  decodeMs: number;
  zodMs: number;
  applyMs: number;
  /** Retained model heap per entry (after a forced GC) once it has `windows` windows of history. */
  checkpoints: { windows: number; bytesPerEntry: number }[];
}

/** A model as the collector builds it with its default flags (--history 1h, --retention 24h). */
function newModel(): ClusterModel {
  const config = CollectorConfigSchema.parse({ natsUrl: "nats://127.0.0.1:4222" });
  return new ClusterModel(config.history, config.retention);
}

function forcedGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Replays `windows` windows of `nodes` simulated agents (window times ending now) through the collector's
 * decode and model, timing each stage and reading the retained heap at `checkpoints` (window counts).
 */
export function profileCollector(opts: {
  nodes: number;
  pods: number;
  windows: number;
  intervalMs: number;
  checkpoints: number[];
}): Profile {
  const gc = forcedGc();
  const factory = new SummaryFactory({
    nodes: opts.nodes,
    pods: opts.pods,
    intervalMs: opts.intervalMs,
    seed: 7,
  });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  // Warm up the JIT on a throwaway model, so the timed windows run optimized code.
  const warm = newModel();
  for (let k = 0; k < 20; k++) {
    const bytes = encoder.encode(factory.render(0, k, k * opts.intervalMs, (k + 1) * opts.intervalMs).json);
    warm.apply(NodeSummarySchema.parse(JSON.parse(decoder.decode(bytes))));
  }

  const t0 = Date.now() - opts.windows * opts.intervalMs;
  const model = newModel();
  const base = heapAfterGc(gc);
  const checkpoints: Profile["checkpoints"] = [];
  let decodeMs = 0;
  let zodMs = 0;
  let applyMs = 0;
  for (let k = 0; k < opts.windows; k++) {
    for (let n = 0; n < opts.nodes; n++) {
      const end = t0 + (k + 1) * opts.intervalMs;
      const bytes = encoder.encode(factory.render(n, k, end - opts.intervalMs, end).json);
      const a = performance.now();
      const value: unknown = JSON.parse(decoder.decode(bytes));
      const b = performance.now();
      const parsed = NodeSummarySchema.safeParse(value);
      const c = performance.now();
      if (!parsed.success) throw new Error(`profile: generated summary invalid: ${parsed.error.message}`);
      if (model.apply(parsed.data) !== "applied") throw new Error("profile: window applied twice");
      const d = performance.now();
      decodeMs += b - a;
      zodMs += c - b;
      applyMs += d - c;
    }
    if (opts.checkpoints.includes(k + 1))
      checkpoints.push({ windows: k + 1, bytesPerEntry: (heapAfterGc(gc) - base) / model.trackedPods });
  }
  const summaries = opts.nodes * opts.windows;
  return {
    nodes: opts.nodes,
    entries: model.trackedPods,
    windows: opts.windows,
    decodeMs: decodeMs / summaries,
    zodMs: zodMs / summaries,
    applyMs: applyMs / summaries,
    checkpoints,
  };
}
