/**
 * The chart's agent DaemonSet as something this machine can run: its args, env and hostPath mounts, and a check
 * that an agent started that way counts pod-to-pod connections exactly (used by the chart and image tests).
 */
import { expect } from "vitest";
import type { Pod } from "../support/netns-pods.js";
import { runClient } from "../support/traffic.js";
import { container, envOf, type K8sObject, NAMESPACE, one, render } from "./chart.js";
import { podFiles } from "./pod-files.js";
import { sampleValue } from "./prometheus-text.js";

export interface HostMount {
  mountPath: string;
  hostPath: string;
  readOnly: boolean;
  propagation?: string;
}

/** A container's hostPath mounts, with the host paths from its workload's volumes. */
export function hostMounts(workload: K8sObject, c: ReturnType<typeof container>): HostMount[] {
  const mounts: HostMount[] = [];
  type Mount = { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string };
  for (const m of (c.volumeMounts ?? []) as Mount[]) {
    const v = (workload.spec.template.spec.volumes as { name: string; hostPath?: { path: string } }[]).find(
      (x) => x.name === m.name,
    );
    if (!v) throw new Error(`no volume ${m.name} in ${workload.metadata.name}`);
    if (v.hostPath)
      mounts.push({
        mountPath: m.mountPath,
        hostPath: v.hostPath.path,
        readOnly: m.readOnly === true,
        propagation: m.mountPropagation,
      });
  }
  return mounts;
}

export interface DaemonSetAgent {
  args: string[];
  /**
   * Env as the DaemonSet sets it: `spec.nodeName` replaced by `node`, `status.podIP` (the node's address in the
   * host network) by 127.0.0.1, and `$(VAR)` references expanded as the kubelet does.
   */
  env: Record<string, string>;
  /** hostPath mounts, longest container path first. */
  mounts: HostMount[];
  /** The files it mounts from the chart's Secrets and ConfigMaps (its NATS password): container path → content. */
  files: Record<string, string>;
  /** Everything the chart rendered with these values (the bundled NATS's configuration and passwords among them). */
  objects: K8sObject[];
  /** The NATS URL of the bundled NATS Service (what NATS_URL must say). */
  bundledNatsUrl: string;
  securityContext: Record<string, unknown>;
  pod: K8sObject;
}

export function daemonSetAgent(
  node: string,
  set: Record<string, string> = {},
  valuesFiles: string[] = [],
): DaemonSetAgent {
  const objects = render({ set, valuesFiles });
  const ds = one(objects, "DaemonSet", "-agent");
  const c = container(ds, "agent");
  const mounts = hostMounts(ds, c).sort((a, b) => b.mountPath.length - a.mountPath.length);
  const env: Record<string, string> = {};
  const fieldValues: Record<string, string> = { "spec.nodeName": node, "status.podIP": "127.0.0.1" };
  for (const [name, value] of Object.entries(envOf(c))) {
    const field = (value as { fieldRef?: { fieldPath: string } }).fieldRef?.fieldPath ?? "";
    if (typeof value === "string")
      env[name] = value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, v: string) => env[v] ?? ref);
    else if (fieldValues[field] !== undefined) env[name] = fieldValues[field];
    else throw new Error(`the DaemonSet sets ${name} from ${JSON.stringify(value)}: map it in this test`);
  }
  return {
    args: c.args as string[],
    env,
    mounts,
    files: podFiles(objects, ds, c),
    objects,
    bundledNatsUrl: `nats://${one(objects, "Service", "-nats").metadata.name}.${NAMESPACE}.svc:4222`,
    securityContext: c.securityContext,
    pod: ds,
  };
}

/** A path inside the container → the host path it shows (unchanged when no hostPath mount holds it). */
export function toHost(value: string, mounts: HostMount[]): string {
  for (const m of mounts)
    if (value === m.mountPath || value.startsWith(`${m.mountPath}/`))
      return m.hostPath + value.slice(m.mountPath.length);
  return value;
}

/**
 * Runs `n` client-closed connections from pod `a` to `b:port` and checks the agent's /metrics counted exactly
 * n on each end (waiting for its windows, then one more to see nothing more arrives).
 */
export async function expectExactCounts(metricsUrl: string, a: Pod, b: Pod, port: number, n: number) {
  const metrics = async () => (await fetch(metricsUrl)).text();
  const count = (text: string, pod: string, transition: string) =>
    sampleValue(text, "tcpstate_agent_pod_transitions_total", { namespace: "shop", pod, transition }) ?? 0;
  const before = await metrics();
  const result = await runClient(a, { host: b.ipv4, port, count: n, mode: "close-first" });
  expect(result).toMatchObject({ ok: n, failed: 0 });
  // Windows are 5 s (the DaemonSet's INTERVAL); kernel maps reach a window at most 2 s late.
  const deadline = Date.now() + 30_000;
  let after = before;
  while (Date.now() < deadline) {
    after = await metrics();
    if (count(after, "a", "active_opens") - count(before, "a", "active_opens") >= n) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await new Promise((r) => setTimeout(r, 7000));
  after = await metrics();
  const delta = (pod: string, transition: string) =>
    count(after, pod, transition) - count(before, pod, transition);
  expect({
    active_opens: delta("a", "active_opens"),
    established: delta("a", "established"),
    time_wait_entries: delta("a", "time_wait_entries"),
    passive_opens: delta("b", "passive_opens"),
    established_b: delta("b", "established"),
  }).toEqual({ active_opens: n, established: n, time_wait_entries: n, passive_opens: n, established_b: n });
}
