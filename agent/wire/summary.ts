/**
 * The agent → collector wire contract, version 1: one node summary per window. Defined once here; both sides
 * import it. Raw bpftrace text never reaches this far.
 */
import { z } from "zod";
import { COUNTER_NAMES } from "./counters.js";
import { GAUGE_STATES, NETNS_COUNTER_NAMES, type NetnsCounterName } from "./gauges.js";

export const SUMMARY_SCHEMA = "tcpstate.v1.summary" as const;

const count = z.number().int().nonnegative();

export const CountersSchema = z.object(
  Object.fromEntries(COUNTER_NAMES.map((name) => [name, count])) as Record<
    (typeof COUNTER_NAMES)[number],
    typeof count
  >,
);

export const WorkloadKindSchema = z.enum([
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "Job",
  "CronJob",
  "ReplicaSet",
  "Other",
]);

export const WorkloadSchema = z.object({ kind: WorkloadKindSchema, name: z.string().min(1) });

/** Who the counted sockets belong to. */
export const OwnerSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("pod"),
    namespace: z.string().min(1),
    name: z.string().min(1),
    uid: z.string().min(1),
    hostNetwork: z.boolean(),
    workload: WorkloadSchema.nullable(),
    labels: z.record(z.string(), z.string()),
  }),
  /** The node itself: host network namespace sockets no pod owns. */
  z.object({ kind: z.literal("host"), name: z.literal("host") }),
  /** A network namespace not (yet) known as a pod's: counted now, labelled once the pod is known. */
  z.object({ kind: z.literal("netns"), name: z.string().min(1) }),
]);

export const GaugeStateSchema = z.enum(GAUGE_STATES);

/** Sockets per state now (request socks count as SYN_RECV). */
export const SocketGaugesSchema = z.object(
  Object.fromEntries(GAUGE_STATES.map((state) => [state, count])) as Record<
    (typeof GAUGE_STATES)[number],
    typeof count
  >,
);

export const ListenerSchema = z.object({
  address: z.string(),
  port: z.number().int().min(0).max(65535),
  /** Accepted connections waiting for accept(). */
  acceptQueue: count,
  /** The accept queue's limit. */
  backlog: count,
  /** Half-open connections (SYN_RECV request socks) on this port. */
  synQueue: count,
});

/** The netns's listen-queue and SYN counters: increase during the window. */
export const NetnsCountersSchema = z.object(
  Object.fromEntries(NETNS_COUNTER_NAMES.map((name) => [name, count])) as Record<
    NetnsCounterName,
    typeof count
  >,
);

export const DestinationSchema = z.object({
  endpoint: z.string().min(1),
  count: z.number().int().positive(),
});

export const PodEntrySchema = z.object({
  owner: OwnerSchema,
  /** Network namespace inodes the entry's sockets live in (inodes are reused across time: a hint only). */
  netns: z.array(z.number().int().nonnegative()),
  /** Transitions counted in this window. */
  window: CountersSchema,
  /** Transitions counted since the agent started (continuous across bpftrace restarts). */
  total: CountersSchema,
  /** Sockets per state at the window's end; null where no process in the netns let the agent read it. */
  sockets: SocketGaugesSchema.nullable(),
  /** States whose gauge is an estimate, not a count. */
  estimated: z.array(GaugeStateSchema),
  listeners: z.array(ListenerSchema),
  netnsCounters: NetnsCountersSchema.nullable(),
  /** Top remote endpoints ("ip:port", "[ip6]:port") by connects in this window and by TIME_WAIT held now. */
  topDestinations: z.object({ connects: z.array(DestinationSchema), timeWait: z.array(DestinationSchema) }),
});

export const NodeHealthSchema = z.object({
  bpftraceUp: z.boolean(),
  bpftraceRestarts: count,
  /** Tracepoint runs the kernel skipped (BPF recursion misses): counts are exact up to these. */
  kernelMissed: count,
  /** Per-event stream lines bpftrace dropped ("Lost N events"); counts never depend on them. */
  lostEvents: count,
  parseErrors: count,
  /** Transitions counted in this window, and how many of them were attributed to a pod. */
  transitions: count,
  attributedTransitions: count,
  attributedShare: z.number().min(0).max(1),
  podListSynced: z.boolean(),
});

export const NodeSummarySchema = z.object({
  schema: z.literal(SUMMARY_SCHEMA),
  node: z.string().min(1),
  /** Random per agent start: with `seq`, an idempotent id for the window. */
  bootId: z.string().min(1),
  seq: count,
  windowStart: z.number().int().nonnegative(),
  windowEnd: z.number().int().nonnegative(),
  /** False when counts of this window may be missing (bpftrace restarted, a flush was lost); reasons say why. */
  complete: z.boolean(),
  incompleteReasons: z.array(z.string()),
  pods: z.array(PodEntrySchema),
  health: NodeHealthSchema,
});

export type Counters = z.infer<typeof CountersSchema>;
export type Workload = z.infer<typeof WorkloadSchema>;
export type Owner = z.infer<typeof OwnerSchema>;
export type PodOwner = Extract<Owner, { kind: "pod" }>;
export type PodEntry = z.infer<typeof PodEntrySchema>;
export type Listener = z.infer<typeof ListenerSchema>;
export type Destination = z.infer<typeof DestinationSchema>;
export type NodeHealth = z.infer<typeof NodeHealthSchema>;
export type NodeSummary = z.infer<typeof NodeSummarySchema>;

/** The owner's Kubernetes namespace; "" for a network namespace or the host. */
export function namespaceOf(owner: Owner): string {
  return owner.kind === "pod" ? owner.namespace : "";
}

/** "Kind/name" of the pod's workload; null when it has none (or is no pod). */
export function workloadName(owner: Owner): string | null {
  return owner.kind === "pod" && owner.workload ? `${owner.workload.kind}/${owner.workload.name}` : null;
}

/** An owner's identity: pods by UID (cluster-wide unique), the rest by kind and name. */
export function ownerKey(owner: Owner): string {
  return owner.kind === "pod" ? `pod/${owner.uid}` : `${owner.kind}/${owner.name}`;
}
