import { randomUUID } from "node:crypto";
import type { AgentMetrics } from "../agent-metrics.js";
import type { NetnsAttributor } from "../attribution/netns-attributor.js";
import type { PodIndex } from "../attribution/pod-index.js";
import { splitHostGauges } from "../gauges/host-network-split.js";
import type { NetnsGaugeReader } from "../gauges/netns-gauges.js";
import { TimeWaitEstimator } from "../gauges/time-wait-estimate.js";
import type { EventStream } from "../probe/event-stream.js";
import type { BpftraceSupervisor } from "../probe/supervisor.js";
import type { NodeSummary } from "../wire/summary.js";
import type { NodeWindow } from "./node-window.js";
import type { TransitionCounter } from "./transition-counter.js";

/**
 * Why an agent's first windows are incomplete: nothing is counted before its probes attach, nor (after a
 * restart or a roll) between the previous agent's last window and this agent's start; the collector measures
 * that gap per node from the two agents' windows.
 */
export const AGENT_START_REASON =
  "agent started: this window begins when its probes attached; nothing since the node's previous agent's last window was counted";

/**
 * How long an agent's first window waits for its probes to attach (bpftrace compiles and attaches in a few
 * seconds): past it, windows go out without counts, marked incomplete, so the node's health is seen.
 */
export const FIRST_WINDOW_WAIT_MS = 30_000;

export interface WindowCycleParts {
  node: string;
  window: NodeWindow;
  attributor: NetnsAttributor;
  pods: PodIndex | null;
  gaugeReader: NetnsGaugeReader;
  supervisor: BpftraceSupervisor;
  counter: TransitionCounter;
  events: EventStream;
  metrics: AgentMetrics;
  /** Where each node summary goes (NATS or stdout). */
  deliver(summary: NodeSummary): void;
}

/**
 * What happens when a window closes: rescan namespaces, read the gauges of every netns reported, split the
 * host netns between hostNetwork pods, close the window into a node summary with the agent's health, feed
 * the TIME_WAIT estimator and /metrics, and deliver it.
 */
export class WindowCycle {
  private readonly bootId = randomUUID();
  private readonly timeWaitEstimator = new TimeWaitEstimator(Date.now());
  private kubeErrorsSeen = 0;
  private kernelMissedSeen = 0;
  /** Until a window closes with the probes attached, windows miss what happened before they attached. */
  private starting = true;
  private readonly createdAt = Date.now();

  constructor(private readonly p: WindowCycleParts) {}

  async close(): Promise<void> {
    const { window, attributor, pods, gaugeReader, supervisor, counter, events, metrics } = this.p;
    if (this.starting) {
      // No window before counting began (a roll's gap then ends when the new agent counts), unless that
      // takes too long: the node's health (bpftrace down) must still be seen.
      const since = counter.countingSince;
      if (since === null && Date.now() - this.createdAt < FIRST_WINDOW_WAIT_MS) return;
      if (since !== null) window.startFirstWindowAt(since);
      window.markIncomplete(AGENT_START_REASON);
      this.starting = since === null;
    }
    await attributor.refresh();
    await attributor.learnCgroups(window.cgroups());
    // Gauges for every netns reported this window: the always-reported ones and those that counted.
    const active = window.active();
    const wanted = new Set([...attributor.reported(), ...active]);
    // Runs the kernel skipped: the flows of the netns that counted in this window may miss some.
    const kernelMissed = await supervisor.kernelMissed();
    const gauges = await gaugeReader.read(
      new Map([...attributor.handles()].filter(([inode]) => wanted.has(inode))),
      active,
      { kernelMissed: kernelMissed > this.kernelMissedSeen },
    );
    this.kernelMissedSeen = kernelMissed;
    const now = Date.now();
    const hostNetworkPods = pods ? [...pods.all()].filter((p) => p.hostNetwork).map((p) => p.uid) : [];
    const host = [...gauges].find(([inode]) => attributor.splitsByCgroup(inode));
    const split = host ? splitHostGauges(host[1], hostNetworkPods, this.timeWaitEstimator, now) : null;
    if (host && split) gauges.set(host[0], split.host);
    const summary = window.close({
      node: this.p.node,
      bootId: this.bootId,
      now,
      ownerOf: (inode, cgroup) => attributor.ownerOf(inode, cgroup),
      aliveNetns: attributor.alive(),
      knownPods: pods ? [...pods.all()].map(({ ips: _ips, ...owner }) => owner) : [],
      alwaysReport: attributor.reported(),
      gaugesOf: (inode) => gauges.get(inode),
      podGaugesOf: (pod) => split?.pods.get(pod.uid),
      health: {
        bpftraceUp: supervisor.isReady,
        bpftraceRestarts: supervisor.restarts,
        kernelMissed,
        lostEvents: counter.lostEvents + events.lost,
        parseErrors: counter.parseErrors + events.parseErrors,
        podListSynced: pods ? pods.synced : true,
      },
    });
    for (const entry of summary.pods)
      if (entry.owner.kind === "pod" && entry.owner.hostNetwork)
        this.timeWaitEstimator.record(entry.owner.uid, summary.windowEnd, entry.window.time_wait_entries);
      else if (entry.owner.kind === "host")
        this.timeWaitEstimator.recordHost(summary.windowEnd, entry.window.time_wait_entries);
    this.timeWaitEstimator.forget(new Set(hostNetworkPods));
    metrics.observe(summary);
    metrics.bpftraceUp.set(supervisor.isReady ? 1 : 0);
    if (pods) {
      metrics.kubeApiErrors.inc(pods.errors - this.kubeErrorsSeen);
      this.kubeErrorsSeen = pods.errors;
    }
    this.p.deliver(summary);
  }
}
