/** Synthetic node windows for the alert tests: valid v1 summaries with the gauges a rule looks at. */
import { zeroCounters } from "../../../agent/wire/counters.js";
import {
  NETNS_COUNTERS,
  type NetnsCounters,
  type SocketGauges,
  zeroGauges,
} from "../../../agent/wire/gauges.js";
import {
  type Counters,
  type Destination,
  type Listener,
  type NodeSummary,
  NodeSummarySchema,
  type Owner,
} from "../../../agent/wire/summary.js";
import { HEALTHY_NODE, podOwner, TEST_EPOCH } from "../../support/summaries.js";

export const T0 = TEST_EPOCH;

export interface PodWindow {
  owner: Owner;
  sockets?: Partial<SocketGauges> | null;
  window?: Partial<Counters>;
  listeners?: Listener[];
  netnsCounters?: Partial<NetnsCounters>;
  timeWait?: Destination[];
}

function zeroNetns(): NetnsCounters {
  return Object.fromEntries(Object.keys(NETNS_COUNTERS).map((k) => [k, 0])) as NetnsCounters;
}

/** Window `seq` of `node`: [T0 + seq × interval, T0 + (seq + 1) × interval]. */
export function nodeWindow(
  node: string,
  seq: number,
  pods: PodWindow[],
  opts: { intervalMs?: number; podListSynced?: boolean; bootId?: string } = {},
): NodeSummary {
  const interval = opts.intervalMs ?? 1000;
  return NodeSummarySchema.parse({
    schema: "tcpstate.v1.summary",
    node,
    bootId: opts.bootId ?? `${node}-boot`,
    seq,
    windowStart: T0 + seq * interval,
    windowEnd: T0 + (seq + 1) * interval,
    complete: true,
    incompleteReasons: [],
    pods: pods.map((p) => ({
      owner: p.owner,
      netns: [4026532000],
      window: { ...zeroCounters(), ...p.window },
      total: zeroCounters(),
      sockets: p.sockets === null ? null : { ...zeroGauges(), ...p.sockets },
      estimated: [],
      listeners: p.listeners ?? [],
      netnsCounters: { ...zeroNetns(), ...p.netnsCounters },
      topDestinations: { connects: [], timeWait: p.timeWait ?? [] },
    })),
    health: { ...HEALTHY_NODE, podListSynced: opts.podListSynced ?? true },
  });
}

export const podA = podOwner("uid-a", "a", "payments", "api");
export const podB = podOwner("uid-b", "b", "shop", "web");
export const podC = podOwner("uid-c", "c", "kube-system", "dns");
