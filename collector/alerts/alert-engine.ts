/**
 * Evaluates the rules on every applied window, per pod (and per netns from a standalone agent), on data time (the window's end): replaying the stream
 * after a restart rebuilds exactly the same alerts. Keeps per pod only what the rules need (baselines, the
 * previous CLOSE_WAIT) and the alerts pending or firing; recently resolved ones are kept a while for the sinks
 * that re-send them. Pods that leave their node's summaries, or whose node goes silent, resolve at once.
 */
import { type NodeSummary, type PodEntry, workloadName } from "../../agent/wire/summary.js";
import { withoutControlCharacters } from "../../common/control-characters.js";
import { recordKey } from "../model/cluster-model.js";
import { ALERT_SCHEMA, type AlertEvent, type AlertView, fingerprintOf } from "./alert-event.js";
import { evaluateRule, PodMemory } from "./conditions.js";
import { Lifecycle, type Transition } from "./lifecycle.js";
import { RULE_NAMES, type RuleName, type RulesConfig } from "./rules-file.js";
import { inScope, type PodIdentity } from "./scope.js";

export interface EngineOptions {
  /** A pod whose newest window is older than this (its node silent) resolves. */
  staleAfterMs: number;
  /** How long resolved alerts are kept for the sinks that re-send them (Alertmanager). */
  resolvedRetentionMs: number;
}

const DEFAULT_ENGINE_OPTIONS: EngineOptions = { staleAfterMs: 300_000, resolvedRetentionMs: 900_000 };

interface TrackedAlert {
  readonly rule: RuleName;
  readonly labels: Record<string, string>;
  readonly fingerprint: string;
  readonly lifecycle: Lifecycle;
  annotations: Record<string, string>;
  value: number;
  lastEvaluatedAt: number;
}

interface PodState {
  identity: PodIdentity;
  lastSeen: number;
  readonly memory: PodMemory;
  /** rule + "\0" + instance key → alert. */
  readonly alerts: Map<string, TrackedAlert>;
}

const iso = (t: number) => new Date(t).toISOString();

function identityOf(node: string, entry: PodEntry): PodIdentity {
  const o = entry.owner;
  if (o.kind === "pod")
    return {
      namespace: o.namespace,
      pod: o.name,
      workload: workloadName(o) ?? "",
      node,
      labels: o.labels,
    };
  return { namespace: "", pod: o.name, workload: "", node, labels: {} };
}

function eventOf(a: TrackedAlert, status: AlertEvent["status"]): AlertEvent {
  return {
    schema: ALERT_SCHEMA,
    status,
    fingerprint: a.fingerprint,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: iso(a.lifecycle.activeAt),
    firedAt: iso(a.lifecycle.firedAt),
    endsAt: status === "resolved" ? iso(a.lifecycle.resolvedAt) : null,
    value: a.value,
  };
}

function viewOf(a: TrackedAlert): AlertView {
  const state = a.lifecycle.state;
  return {
    fingerprint: a.fingerprint,
    state: state === "inactive" ? "resolved" : state,
    labels: a.labels,
    annotations: a.annotations,
    activeAt: iso(a.lifecycle.activeAt),
    firedAt: state === "firing" ? iso(a.lifecycle.firedAt) : null,
    resolvedAt: state === "inactive" ? iso(a.lifecycle.resolvedAt) : null,
    value: a.value,
    lastEvaluatedAt: iso(a.lastEvaluatedAt),
  };
}

export class AlertEngine {
  private readonly pods = new Map<string, PodState>();
  /** node → the newest window's end and the pods it listed (to tell when a pod is gone). */
  private readonly nodes = new Map<string, { lastEnd: number; keys: Set<string> }>();
  /** Pending and firing alerts. */
  private readonly active = new Set<TrackedAlert>();
  private resolved: { at: number; event: AlertEvent }[] = [];
  private readonly listeners: ((event: AlertEvent) => void)[] = [];
  /** The newest window end seen: the engine's clock. */
  dataTime = 0;
  private lastSweep = 0;

  constructor(
    private rules: RulesConfig,
    private readonly opts: EngineOptions = DEFAULT_ENGINE_OPTIONS,
  ) {}

  setRules(rules: RulesConfig): void {
    this.rules = rules;
  }

  /** Called with each firing and resolved transition, in order. */
  onEvent(listener: (event: AlertEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(alert: TrackedAlert, status: AlertEvent["status"]): void {
    const event = eventOf(alert, status);
    if (status === "resolved") this.resolved.push({ at: alert.lifecycle.resolvedAt, event });
    for (const l of this.listeners) l(event);
  }

  /** One applied window of a node. */
  apply(summary: NodeSummary): void {
    const t = summary.windowEnd;
    this.dataTime = Math.max(this.dataTime, t);
    const listed = new Set<string>();
    // A standalone agent's pods are network namespaces; next to real pods, a netns not (yet) known as a pod's is
    // transient or no pod's at all (a CNI's): not evaluated.
    const standalone = !summary.pods.some((e) => e.owner.kind === "pod");
    for (const entry of summary.pods) {
      if (entry.owner.kind === "host" || (entry.owner.kind === "netns" && !standalone)) continue;
      const key = recordKey(summary.node, entry.owner);
      listed.add(key);
      this.evaluatePod(key, summary.node, entry, summary.windowStart, t);
    }
    const node = this.nodes.get(summary.node);
    if (!node || t >= node.lastEnd) {
      // Every pod the agent knows is listed in each window: one that is missing is gone.
      if (node && summary.health.podListSynced)
        for (const key of node.keys) if (!listed.has(key)) this.forget(key, t);
      this.nodes.set(summary.node, { lastEnd: t, keys: listed });
    }
    if (this.dataTime - this.lastSweep >= Math.min(15_000, this.opts.staleAfterMs / 4))
      this.sweep(this.dataTime);
  }

  private evaluatePod(key: string, node: string, entry: PodEntry, windowStart: number, t: number): void {
    const identity = identityOf(node, entry);
    let pod = this.pods.get(key);
    if (!pod) {
      pod = { identity, lastSeen: 0, memory: new PodMemory(), alerts: new Map() };
      this.pods.set(key, pod);
    }
    // A window older than one already evaluated cannot move the alerts back in time.
    if (t <= pod.lastSeen) return;
    pod.lastSeen = t;
    pod.identity = identity;
    const sample = { t, durationMs: t - windowStart, entry };
    for (const name of RULE_NAMES) {
      const rule = this.rules[name];
      if (!rule.enabled || !inScope(rule.scope, pod.identity)) {
        for (const [k, a] of pod.alerts) if (a.rule === name) this.end(pod, k, a, t);
        continue;
      }
      const instances = evaluateRule(name, this.rules, sample, pod.memory);
      if (instances === null) continue;
      // Most pods have no alert and most conditions are false: nothing to allocate then.
      if (pod.alerts.size === 0 && !instances.some((i) => i.active)) continue;
      const seen = new Set<string>();
      for (const inst of instances) {
        const k = `${name}\u0000${inst.key}`;
        seen.add(k);
        let alert = pod.alerts.get(k);
        if (!alert) {
          if (!inst.active) continue;
          // Names come from summaries (bounded by the wire contract); control characters go before they travel.
          const labels = Object.fromEntries(
            Object.entries({
              alertname: name,
              severity: rule.severity,
              namespace: pod.identity.namespace,
              pod: pod.identity.pod,
              workload: pod.identity.workload,
              node,
              ...inst.labels,
            }).map(([k, v]) => [k, withoutControlCharacters(v)]),
          );
          alert = {
            rule: name,
            labels,
            fingerprint: fingerprintOf(labels),
            lifecycle: new Lifecycle(),
            annotations: {},
            value: inst.value,
            lastEvaluatedAt: t,
          };
          pod.alerts.set(k, alert);
          this.active.add(alert);
        }
        alert.value = inst.value;
        alert.lastEvaluatedAt = t;
        if (inst.active || alert.lifecycle.state === "pending") {
          const texts = inst.texts();
          alert.annotations = {
            summary: withoutControlCharacters(
              `${name} on ${pod.identity.namespace ? `${pod.identity.namespace}/` : ""}${pod.identity.pod}: ${texts.summary}`,
            ),
            description: withoutControlCharacters(texts.description),
            ...(rule.runbookUrl ? { runbook_url: rule.runbookUrl } : {}),
          };
        }
        this.step(pod, k, alert, t, inst.active, rule.forMs, rule.holdDownMs);
      }
      for (const [k, a] of pod.alerts)
        if (a.rule === name && !seen.has(k)) this.step(pod, k, a, t, false, rule.forMs, rule.holdDownMs);
    }
  }

  private step(
    pod: PodState,
    k: string,
    alert: TrackedAlert,
    t: number,
    active: boolean,
    forMs: number,
    holdDownMs: number,
  ): void {
    const transition = alert.lifecycle.step(t, active, forMs, holdDownMs);
    if (transition === "firing") this.emit(alert, "firing");
    if (transition === "resolved" || transition === "cancelled") this.drop(pod, k, alert, transition);
  }

  /** Ends an alert now (pod gone, rule disabled or out of scope). */
  private end(pod: PodState, k: string, alert: TrackedAlert, t: number): void {
    this.drop(pod, k, alert, alert.lifecycle.resolve(t));
  }

  /** Stops tracking an alert that ended; a firing one that resolved is told. */
  private drop(pod: PodState, k: string, alert: TrackedAlert, transition: Transition | null): void {
    pod.alerts.delete(k);
    this.active.delete(alert);
    if (transition === "resolved") this.emit(alert, "resolved");
  }

  private forget(key: string, t: number): void {
    const pod = this.pods.get(key);
    if (!pod) return;
    for (const [k, a] of pod.alerts) this.end(pod, k, a, Math.max(t, pod.lastSeen));
    this.pods.delete(key);
  }

  /** Resolves the alerts of pods not seen for staleAfter before `now`; drops old resolved alerts. */
  sweep(now: number): void {
    this.lastSweep = now;
    const horizon = now - this.opts.staleAfterMs;
    for (const [key, pod] of this.pods) if (pod.lastSeen < horizon) this.forget(key, now);
    for (const [name, node] of this.nodes) if (node.lastEnd < horizon) this.nodes.delete(name);
    const keep = now - this.opts.resolvedRetentionMs;
    this.resolved = this.resolved.filter((r) => r.at >= keep);
  }

  /** Alerts in `state` ("all": pending and firing), newest first. */
  list(state: "pending" | "firing" | "all" = "all"): AlertView[] {
    const out: AlertView[] = [];
    for (const a of this.active) if (state === "all" || a.lifecycle.state === state) out.push(viewOf(a));
    return out.sort(
      (x, y) => y.activeAt.localeCompare(x.activeAt) || x.fingerprint.localeCompare(y.fingerprint),
    );
  }

  /** Firing alerts as events (what Alertmanager and a restarted collector's sinks are told). */
  firingEvents(): AlertEvent[] {
    return [...this.active].filter((a) => a.lifecycle.state === "firing").map((a) => eventOf(a, "firing"));
  }

  /**
   * Takes a resolution the engine did not see happen (an alert the alerts stream shows firing that the replay
   * did not rebuild: the rules changed meanwhile), so Alertmanager is told too.
   */
  adoptResolved(event: AlertEvent): void {
    this.resolved.push({ at: Date.parse(event.endsAt ?? event.startsAt), event });
  }

  /** Alerts resolved within the retention, oldest first. */
  resolvedEvents(): AlertEvent[] {
    return this.resolved.map((r) => r.event);
  }
}
