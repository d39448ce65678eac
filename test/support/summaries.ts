/** Node summaries for tests that need known windows without the kernel: valid against the wire schema. */

import type { Counters } from "../../agent/wire/counters.js";
import { zeroCounters } from "../../agent/wire/counters.js";
import {
  type NodeHealth,
  type NodeSummary,
  NodeSummarySchema,
  type Owner,
  type PodEntry,
} from "../../agent/wire/summary.js";

export const HOST: Owner = { kind: "host", name: "host" };

/** A node whose agent has nothing to report against itself. */
export const HEALTHY_NODE: NodeHealth = {
  bpftraceUp: true,
  bpftraceRestarts: 0,
  kernelMissed: 0,
  lostEvents: 0,
  parseErrors: 0,
  transitions: 0,
  attributedTransitions: 0,
  attributedShare: 1,
  podListSynced: true,
};

/** A Deployment pod's owner. */
export function podOwner(uid: string, name: string, namespace = "shop", workload = "web"): Owner {
  return {
    kind: "pod",
    namespace,
    name,
    uid,
    hostNetwork: false,
    workload: { kind: "Deployment", name: workload },
    labels: {},
  };
}

/** The epoch test windows count from: window `seq` is [EPOCH + 5 s × seq, EPOCH + 5 s × (seq + 1)). */
export const TEST_EPOCH = 1_800_000_000_000;

/**
 * Window `seq` of `node` (5 s windows from TEST_EPOCH), with the given counters per owner and, optionally, the
 * rest of its entry (gauges, listeners, destinations).
 */
export function testSummary(
  node: string,
  seq: number,
  pods: { owner: Owner; window?: Partial<Counters>; entry?: Partial<Omit<PodEntry, "owner" | "window">> }[],
  bootId = `${node}-boot`,
): NodeSummary {
  return NodeSummarySchema.parse({
    schema: "tcpstate.v1.summary",
    node,
    bootId,
    seq,
    windowStart: TEST_EPOCH + seq * 5000,
    windowEnd: TEST_EPOCH + (seq + 1) * 5000,
    complete: true,
    incompleteReasons: [],
    pods: pods.map(({ owner, window, entry }) => ({
      owner,
      netns: [4026532000 + seq],
      window: { ...zeroCounters(), ...window },
      total: zeroCounters(),
      sockets: null,
      estimated: [],
      listeners: [],
      netnsCounters: null,
      topDestinations: { connects: [], timeWait: [] },
      ...entry,
    })),
    health: HEALTHY_NODE,
  });
}

/**
 * `s` moved to windows of `intervalMs` counted from `base` by its seq: a real collector refuses windows that end
 * in the future, so what it is sent is placed in recent wall time.
 */
export function retimed(s: NodeSummary, base: number, intervalMs = 5000): NodeSummary {
  return { ...s, windowStart: base + s.seq * intervalMs, windowEnd: base + (s.seq + 1) * intervalMs };
}
