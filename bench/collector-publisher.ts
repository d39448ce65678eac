// The simulated agents' publishing: every node publishes one window every interval, at its own phase (agents
// start at different times, so their windows are spread over the interval), through JetStream with the
// agent's message id. One process publishes for all nodes: everything due is sent at once, many in flight,
// and the acks are awaited as they come, so one slow ack never holds the schedule up.
import type { JetStreamClient } from "@nats-io/jetstream";
import type { SummaryFactory } from "./collector-summaries.js";

export interface PublishPlan {
  nodes: number;
  windows: number;
  intervalMs: number;
  /** Wall-clock start (ms): node i's window k is due at t0 + (k + i/nodes) × interval. */
  t0: number;
  maxInFlight: number;
}

export interface PublishStats {
  /** Acknowledged by JetStream (not duplicates). */
  acked: number;
  duplicates: number;
  errors: number;
  firstError: string | undefined;
  bytes: number;
  /** How late each publish started after its due time, ms. */
  latenessMs: number[];
  /** publish → PubAck, ms. */
  ackMs: number[];
  /** Render (vary + JSON.stringify) time, ms, summed. */
  renderMs: number;
  maxInFlight: number;
  /** Wall clock of the last ack. */
  finishedAt: number;
}

/** Published (acked) so far: read by the sampler while the schedule runs. */
export interface PublishProgress {
  acked: number;
}

export async function publishSchedule(
  js: JetStreamClient,
  factory: SummaryFactory,
  plan: PublishPlan,
  progress: PublishProgress,
): Promise<PublishStats> {
  const stats: PublishStats = {
    acked: 0,
    duplicates: 0,
    errors: 0,
    firstError: undefined,
    bytes: 0,
    latenessMs: [],
    ackMs: [],
    renderMs: 0,
    maxInFlight: 0,
    finishedAt: plan.t0,
  };
  const total = plan.nodes * plan.windows;
  const step = plan.intervalMs / plan.nodes;
  const due = (j: number) => plan.t0 + j * step;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const settled = () => {
    inFlight--;
    const w = wake;
    wake = undefined;
    w?.();
  };

  const launch = (j: number) => {
    const node = j % plan.nodes;
    const seq = Math.floor(j / plan.nodes);
    const windowEnd = Math.round(due(j));
    const r0 = performance.now();
    const msg = factory.render(node, seq, windowEnd - plan.intervalMs, windowEnd);
    const started = performance.now();
    stats.renderMs += started - r0;
    stats.latenessMs.push(Math.max(0, Date.now() - due(j)));
    stats.bytes += Buffer.byteLength(msg.json);
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    js.publish(msg.subject, msg.json, { msgID: msg.msgID, timeout: 10_000 }).then(
      (ack) => {
        stats.ackMs.push(performance.now() - started);
        if (ack.duplicate) stats.duplicates++;
        else {
          stats.acked++;
          progress.acked++;
        }
        stats.finishedAt = Date.now();
        settled();
      },
      (err: Error) => {
        stats.errors++;
        stats.firstError ??= err.message;
        stats.finishedAt = Date.now();
        settled();
      },
    );
  };

  let j = 0;
  while (j < total) {
    const now = Date.now();
    // A batch: everything due now, up to the in-flight limit.
    while (j < total && due(j) <= now && inFlight < plan.maxInFlight) launch(j++);
    if (j >= total) break;
    if (inFlight >= plan.maxInFlight) await new Promise<void>((r) => (wake = r));
    else await new Promise((r) => setTimeout(r, Math.max(0, due(j) - Date.now())));
  }
  while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  return stats;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
