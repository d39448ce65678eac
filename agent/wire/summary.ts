/**
 * The agent → collector wire contract, version 1: one node summary per window. Defined once here; both sides
 * import it. Raw bpftrace text never reaches this far.
 */
import { z } from "zod";
import { COUNTER_NAMES } from "./counters.js";
import { GAUGE_STATES, NETNS_COUNTER_NAMES, type NetnsCounterName } from "./gauges.js";

export const SUMMARY_SCHEMA = "tcpstate.v1.summary" as const;

/**
 * Bounds of the contract: a summary is input from a node, and every string and list in it is bounded, so no
 * message can make the collector hold more than its size says. Kubernetes' own limits where there are some.
 */
export const SUMMARY_LIMITS = {
  /** Bytes of one summary: NATS's default max_payload (1 MiB); 50 pods take ~85 KB. */
  bytes: 1 << 20,
  /** Entries (pods, the host, unlabelled netns) per summary: 110 pods a node by default, 250 in big clusters. */
  pods: 1000,
  /** A DNS subdomain: node, pod and workload names. */
  name: 253,
  /** A DNS label: namespaces; also label values. */
  label: 63,
  /** A label key: an optional DNS-subdomain prefix, "/", a 63-character name. */
  labelKey: 317,
  /** Labels per pod (the agent's --max-labels is at most 64). */
  labels: 64,
  /** Listeners per pod, network namespaces per entry. */
  listeners: 256,
  netns: 16,
  /** Top destinations per list (the agent sends 10). */
  destinations: 32,
  /** "[ipv6]:port" is at most 47 characters; an address 45. */
  endpoint: 64,
  /** Free text: boot ids, incomplete-window reasons. */
  text: 256,
  reasons: 16,
  /**
   * Transitions of one pod in one window: 2^32 − 1 is ~14 million a second over a 5-minute window, beyond any
   * kernel; what sums them (running totals, buckets) stays exact far past it.
   */
  windowCount: 2 ** 32 - 1,
  /** A window's length: the agent's --interval is at most a minute; 5 minutes leaves room. */
  windowMs: 5 * 60_000,
} as const;

const L = SUMMARY_LIMITS;
/** A count: zod 4's int() keeps it within the safe integers (a check more per number costs: ~2,000 a summary). */
const count = z.number().int().nonnegative();
const windowCount = z.number().int().nonnegative().max(L.windowCount);
const text = (max: number) => z.string().min(1).max(max);

const countersOf = <T extends z.ZodNumber>(n: T) =>
  z.object(
    Object.fromEntries(COUNTER_NAMES.map((name) => [name, n])) as Record<(typeof COUNTER_NAMES)[number], T>,
  );
/** Running totals. */
export const CountersSchema = countersOf(count);
/** One window's counts. */
export const WindowCountersSchema = countersOf(windowCount);

export const WorkloadKindSchema = z.enum([
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "Job",
  "CronJob",
  "ReplicaSet",
  "Other",
]);

export const WorkloadSchema = z.object({ kind: WorkloadKindSchema, name: text(L.name) });

/** Who the counted sockets belong to. */
export const OwnerSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("pod"),
    namespace: text(L.label),
    name: text(L.name),
    uid: text(L.label),
    hostNetwork: z.boolean(),
    workload: WorkloadSchema.nullable(),
    labels: z
      .record(text(L.labelKey), z.string().max(L.label))
      .refine((labels) => Object.keys(labels).length <= L.labels, `at most ${L.labels} labels`),
  }),
  /** The node itself: host network namespace sockets no pod owns. */
  z.object({ kind: z.literal("host"), name: z.literal("host") }),
  /** A network namespace not (yet) known as a pod's: counted now, labelled once the pod is known. */
  z.object({ kind: z.literal("netns"), name: text(L.name) }),
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
  address: z.string().max(L.endpoint),
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
  endpoint: text(L.endpoint),
  count: z.number().int().positive(),
});

export const PodEntrySchema = z.object({
  owner: OwnerSchema,
  /** Network namespace inodes the entry's sockets live in (inodes are reused across time: a hint only). */
  netns: z.array(count).max(L.netns),
  /** Transitions counted in this window. */
  window: WindowCountersSchema,
  /** Transitions counted since the agent started (continuous across bpftrace restarts). */
  total: CountersSchema,
  /** Sockets per state at the window's end; null where no process in the netns let the agent read it. */
  sockets: SocketGaugesSchema.nullable(),
  /** States whose gauge is an estimate, not a count. */
  estimated: z.array(GaugeStateSchema).max(GAUGE_STATES.length),
  listeners: z.array(ListenerSchema).max(L.listeners),
  netnsCounters: NetnsCountersSchema.nullable(),
  /** Top remote endpoints ("ip:port", "[ip6]:port") by connects in this window and by TIME_WAIT held now. */
  topDestinations: z.object({
    connects: z.array(DestinationSchema).max(L.destinations),
    timeWait: z.array(DestinationSchema).max(L.destinations),
  }),
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

export const NodeSummarySchema = z
  .object({
    schema: z.literal(SUMMARY_SCHEMA),
    node: text(L.name),
    /** Random per agent start: with `seq`, an idempotent id for the window. */
    bootId: text(L.text),
    seq: count,
    windowStart: count,
    windowEnd: count,
    /** False when counts of this window may be missing (bpftrace restarted, a flush was lost); reasons say why. */
    complete: z.boolean(),
    incompleteReasons: z.array(z.string().max(L.text)).max(L.reasons),
    pods: z.array(PodEntrySchema).max(L.pods),
    health: NodeHealthSchema,
  })
  .refine((s) => s.windowStart <= s.windowEnd && s.windowEnd - s.windowStart <= L.windowMs, {
    message: `the window must end after it starts and last at most ${L.windowMs / 60_000} minutes`,
    path: ["windowEnd"],
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
