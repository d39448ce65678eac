// Simulated agents' node summaries for the collector benchmark: one template per node, built once (owners,
// labels, listeners, destinations), whose numbers are varied in place each window and then serialized.
import { randomUUID } from "node:crypto";
import { summaryMessageId } from "../agent/publish/summary-publisher.js";
import { COUNTER_NAMES, type Counters, zeroCounters } from "../agent/wire/counters.js";
import {
  type NetnsCounters,
  type SocketGauges,
  zeroGauges,
  zeroNetnsCounters,
} from "../agent/wire/gauges.js";
import { summarySubject } from "../agent/wire/subjects.js";
import {
  type Destination,
  type NodeSummary,
  type PodEntry,
  SUMMARY_SCHEMA,
  type Workload,
} from "../agent/wire/summary.js";
import { HEALTHY_NODE } from "../test/support/summaries.js";

/** mulberry32: a fast, seedable PRNG (the run is reproducible apart from UUIDs and times). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMESPACES = [
  "shop",
  "payments",
  "search",
  "auth",
  "analytics",
  "checkout",
  "catalog",
  "recommendations",
  "notifications",
  "billing",
  "inventory",
  "shipping",
  "media",
  "ml-serving",
  "data-platform",
  "observability",
  "ingress-nginx",
  "cert-manager",
  "kafka",
  "redis",
];
const WORDS = [
  "api",
  "worker",
  "frontend",
  "gateway",
  "consumer",
  "scheduler",
  "cache",
  "indexer",
  "db",
  "proxy",
];
const HEX = "0123456789abcdef";
const ALNUM = "bcdfghjklmnpqrstvwxz2456789";

function pick<T>(xs: readonly T[], r: () => number): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

function randomString(alphabet: string, n: number, r: () => number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

interface WorkloadTemplate {
  namespace: string;
  workload: Workload;
  labels: Record<string, string>;
  ports: number[];
}

/** The cluster's workloads: namespaces × a few components each, with the labels Helm charts usually set. */
function workloadPool(r: () => number): WorkloadTemplate[] {
  const pool: WorkloadTemplate[] = [];
  for (const ns of NAMESPACES) {
    for (const word of WORDS) {
      const name = `${ns}-${word}`;
      const stateful = word === "db" || word === "cache";
      const labels: Record<string, string> = {
        app: name,
        "app.kubernetes.io/instance": ns,
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": ns,
        "app.kubernetes.io/version": `1.${Math.floor(r() * 20)}.${Math.floor(r() * 10)}`,
        "helm.sh/chart": `${name}-0.${Math.floor(r() * 40)}.0`,
        team: pick(["core", "growth", "platform", "data", "sre"], r),
      };
      if (stateful) labels["statefulset.kubernetes.io/pod-name"] = `${name}-0`;
      else labels["pod-template-hash"] = randomString(HEX, 10, r);
      pool.push({
        namespace: ns,
        workload: { kind: stateful ? "StatefulSet" : "Deployment", name },
        labels,
        ports: stateful ? [word === "db" ? 5432 : 6379, 9187] : [8080, 9090],
      });
    }
  }
  return pool;
}

/** Per-node DaemonSets: the first two on the host network (their sockets are the node's). */
const DAEMONSETS: WorkloadTemplate[] = [
  {
    namespace: "kube-system",
    workload: { kind: "DaemonSet", name: "kube-proxy" },
    labels: {
      "k8s-app": "kube-proxy",
      "controller-revision-hash": "6c8d4f7b9",
      "pod-template-generation": "3",
    },
    ports: [10249, 10256],
  },
  {
    namespace: "observability",
    workload: { kind: "DaemonSet", name: "node-exporter" },
    labels: {
      "app.kubernetes.io/name": "node-exporter",
      "app.kubernetes.io/part-of": "kube-prometheus",
      "controller-revision-hash": "7b5f9c6d8",
    },
    ports: [9100],
  },
  {
    namespace: "observability",
    workload: { kind: "DaemonSet", name: "fluent-bit" },
    labels: {
      "app.kubernetes.io/name": "fluent-bit",
      "app.kubernetes.io/instance": "fluent-bit",
      "controller-revision-hash": "5d9f8b7c4",
    },
    ports: [2020],
  },
];

/** How busy an entry is (connections per window, sockets held): fixed per entry, numbers vary around it. */
interface Activity {
  opens: number;
  accepts: number;
  established: number;
  segs: number;
}

interface EntryState {
  entry: PodEntry;
  activity: Activity;
  window: Counters;
  total: Counters;
  sockets: SocketGauges;
  counters: NetnsCounters;
  connects: Destination[];
  timeWait: Destination[];
}

interface NodeState {
  node: string;
  subject: string;
  summary: NodeSummary;
  entries: EntryState[];
}

function destinations(n: number, r: () => number): Destination[] {
  return Array.from({ length: n }, () => ({
    endpoint: `10.${96 + Math.floor(r() * 4)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}:${pick([443, 5432, 6379, 8080, 9092, 53], r)}`,
    count: 1,
  }));
}

function newEntry(
  owner: PodEntry["owner"],
  ports: number[],
  activity: Activity,
  netns: number,
  r: () => number,
): EntryState {
  const window = zeroCounters();
  const total = zeroCounters();
  const sockets = zeroGauges();
  const counters = zeroNetnsCounters();
  const connects = destinations(3, r);
  const timeWait = destinations(2, r);
  const entry: PodEntry = {
    owner,
    netns: [netns],
    window,
    total,
    sockets,
    estimated: [],
    listeners: ports.map((port, i) => ({
      address: i === 0 ? "0.0.0.0" : "::",
      port,
      acceptQueue: 0,
      backlog: 4096,
      synQueue: 0,
    })),
    netnsCounters: counters,
    topDestinations: { connects, timeWait },
  };
  return { entry, activity, window, total, sockets, counters, connects, timeWait };
}

/** Poisson-ish: around `mean`, never negative (cheap: uniform ±50%). */
function around(mean: number, r: () => number): number {
  return Math.max(0, Math.round(mean * (0.5 + r())));
}

export interface FactoryOptions {
  nodes: number;
  pods: number;
  intervalMs: number;
  seed?: number;
}

/**
 * `nodes` simulated agents, each reporting `pods` pods plus its host entry per window. `render` varies every
 * number of a node's template and serializes it: owners, labels and lists are built once.
 */
export class SummaryFactory {
  private readonly states: NodeState[] = [];
  private readonly r: () => number;

  constructor(readonly opts: FactoryOptions) {
    this.r = prng(opts.seed ?? 42);
    const r = this.r;
    const pool = workloadPool(r);
    for (let n = 0; n < opts.nodes; n++) {
      const node = `ip-10-${Math.floor(n / 250)}-${n % 250}-${10 + (n % 200)}.eu-west-1.compute.internal`;
      const entries: EntryState[] = [];
      let netns = 4026532000 + Math.floor(r() * 1000);
      for (let p = 0; p < opts.pods; p++) {
        const t = p < DAEMONSETS.length ? (DAEMONSETS[p] as WorkloadTemplate) : pick(pool, r);
        const hostNetwork = p < 2;
        const suffix = randomString(ALNUM, 5, r);
        const name =
          t.workload.kind === "StatefulSet"
            ? `${t.workload.name}-${Math.floor(r() * 5)}`
            : t.workload.kind === "DaemonSet"
              ? `${t.workload.name}-${suffix}`
              : `${t.workload.name}-${t.labels["pod-template-hash"]}-${suffix}`;
        const busy = r() < 0.2 ? 20 : 1; // a fifth of the pods do most of the churn
        entries.push(
          newEntry(
            {
              kind: "pod",
              namespace: t.namespace,
              name,
              uid: randomUUID(),
              hostNetwork,
              workload: t.workload,
              labels: t.labels,
            },
            t.ports,
            { opens: 8 * busy, accepts: 12 * busy, established: 20 + 5 * busy, segs: 2000 * busy },
            hostNetwork ? 4026531840 : netns++,
            r,
          ),
        );
      }
      entries.push(
        newEntry(
          { kind: "host", name: "host" },
          [22, 10250],
          { opens: 40, accepts: 30, established: 60, segs: 50_000 },
          4026531840,
          r,
        ),
      );
      const summary: NodeSummary = {
        schema: SUMMARY_SCHEMA,
        node,
        bootId: randomUUID(),
        seq: 0,
        windowStart: 0,
        windowEnd: 0,
        complete: true,
        incompleteReasons: [],
        pods: entries.map((e) => e.entry),
        health: { ...HEALTHY_NODE },
      };
      this.states.push({ node, subject: summarySubject(node), summary, entries });
    }
  }

  nodeName(node: number): string {
    return (this.states[node] as NodeState).node;
  }

  /** Window `seq` of node `node`: numbers varied in place, then serialized. */
  render(
    node: number,
    seq: number,
    windowStart: number,
    windowEnd: number,
  ): { subject: string; msgID: string; json: string } {
    const s = this.states[node] as NodeState;
    const summary = this.vary(node, seq, windowStart, windowEnd);
    return { subject: s.subject, msgID: summaryMessageId(summary), json: JSON.stringify(summary) };
  }

  /** Window `seq` of node `node` as the node's template object, its numbers varied in place (reused next time). */
  vary(node: number, seq: number, windowStart: number, windowEnd: number): NodeSummary {
    const s = this.states[node] as NodeState;
    const r = this.r;
    let transitions = 0;
    let attributed = 0;
    for (const e of s.entries) {
      const a = e.activity;
      const w = e.window;
      const failed = r() < 0.1 ? around(2, r) : 0;
      w.active_opens = around(a.opens, r) + failed;
      w.passive_opens = around(a.accepts, r);
      w.failed_connects = failed;
      w.established = w.active_opens - failed + w.passive_opens;
      w.closes = Math.max(0, w.established - 1 + Math.floor(r() * 3));
      w.resets = r() < 0.2 ? around(1, r) : 0;
      w.time_wait_entries = Math.max(0, w.active_opens - failed);
      let n = 0;
      for (const c of COUNTER_NAMES) {
        e.total[c] += w[c];
        n += w[c];
      }
      transitions += n;
      if (e.entry.owner.kind === "pod") attributed += n;
      const g = e.sockets;
      g.ESTABLISHED = around(a.established, r);
      g.SYN_SENT = r() < 0.1 ? 1 : 0;
      g.SYN_RECV = r() < 0.05 ? around(2, r) : 0;
      g.FIN_WAIT2 = r() < 0.3 ? around(1, r) : 0;
      g.TIME_WAIT = around(a.opens * 12, r);
      g.CLOSE_WAIT = r() < 0.05 ? 1 : 0;
      g.LISTEN = e.entry.listeners.length;
      const c = e.counters;
      c.active_opens = w.active_opens;
      c.passive_opens = w.passive_opens;
      c.attempt_fails = failed;
      c.estab_resets = w.resets;
      c.in_segs = around(a.segs, r);
      c.out_segs = around(a.segs, r);
      for (const d of e.connects) d.count = 1 + Math.floor(r() * a.opens);
      for (const d of e.timeWait) d.count = 1 + Math.floor(r() * a.opens * 2);
    }
    const summary = s.summary;
    summary.seq = seq;
    summary.windowStart = windowStart;
    summary.windowEnd = windowEnd;
    summary.health.transitions = transitions;
    summary.health.attributedTransitions = attributed;
    summary.health.attributedShare = transitions === 0 ? 1 : attributed / transitions;
    return summary;
  }
}
