import type { V1Pod } from "@kubernetes/client-node";
import type { PodOwner, Workload } from "../wire/summary.js";

/** What the agent keeps of a pod: the wire owner plus the addresses it is found by. */
export interface PodMeta extends PodOwner {
  ips: string[];
}

// CronJob-created Jobs are named <cronjob>-<scheduled time in minutes since the epoch>.
const CRONJOB_JOB_NAME = /^(.+)-\d{8,}$/;

/**
 * The workload that owns a pod, from its own metadata only (the agent may read pods, nothing else): a
 * ReplicaSet named <deployment>-<pod-template-hash> belongs to that Deployment.
 */
export function workloadOf(pod: V1Pod): Workload | null {
  const ref = pod.metadata?.ownerReferences?.find((r) => r.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!ref?.name) return null;
  switch (ref.kind) {
    case "ReplicaSet": {
      const hash = pod.metadata?.labels?.["pod-template-hash"];
      return hash && ref.name.endsWith(`-${hash}`)
        ? { kind: "Deployment", name: ref.name.slice(0, -hash.length - 1) }
        : { kind: "ReplicaSet", name: ref.name };
    }
    case "Job": {
      const cron = CRONJOB_JOB_NAME.exec(ref.name);
      return cron ? { kind: "CronJob", name: cron[1] as string } : { kind: "Job", name: ref.name };
    }
    case "StatefulSet":
    case "DaemonSet":
      return { kind: ref.kind, name: ref.name };
    default:
      return { kind: "Other", name: `${ref.kind}/${ref.name}` };
  }
}

/** The pod's labels, at most `max` of them (in name order), so label cardinality stays bounded. */
export function boundedLabels(
  labels: Record<string, string> | undefined,
  max: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!labels) return out;
  for (const key of Object.keys(labels).sort().slice(0, max)) out[key] = labels[key] as string;
  return out;
}

/** null for a pod the kube API has not given a namespace, name and uid yet. */
export function podMetaOf(pod: V1Pod, maxLabels: number): PodMeta | null {
  const { namespace, name, uid } = pod.metadata ?? {};
  if (!namespace || !name || !uid) return null;
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => Boolean(ip));
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return {
    kind: "pod",
    namespace,
    name,
    uid,
    hostNetwork: pod.spec?.hostNetwork === true,
    workload: workloadOf(pod),
    labels: boundedLabels(pod.metadata?.labels, maxLabels),
    ips,
  };
}
