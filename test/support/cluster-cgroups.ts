/**
 * A pod's CPU and memory as its cgroup on the node counts them (the kubelet's cgroupfs driver: kubepods/<qos>/
 * pod<uid>; cgroup v1 cpuacct and memory controllers where mounted, else cgroup v2).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Cluster } from "./cluster.js";

export interface PodUsage {
  pod: string;
  cpuSeconds: number;
  /** cpuSeconds over the pod's age: the average share of one core. */
  averageCores: number;
  memoryBytes: number;
  /** Anonymous memory (rss), without the page cache. */
  rssBytes: number;
}

function qosDir(qosClass: string): string {
  if (qosClass === "Guaranteed") return "kubepods";
  return `kubepods/${qosClass.toLowerCase()}`;
}

function readNumber(file: string): number {
  return Number(readFileSync(file, "utf8").trim());
}

function statField(file: string, key: string): number {
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${key} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

/** Reads the cgroup of `namespace/pod` on this host (the node). */
export async function podUsage(cluster: Cluster, namespace: string, pod: string): Promise<PodUsage> {
  const p = await cluster.kubectlJson<{
    metadata: { uid: string; creationTimestamp: string };
    status: { qosClass: string; startTime: string };
  }>(["-n", namespace, "get", "pod", pod]);
  const rel = path.join(qosDir(p.status.qosClass), `pod${p.metadata.uid}`);
  const ageSeconds = (Date.now() - Date.parse(p.status.startTime)) / 1000;
  const v1 = "/sys/fs/cgroup";
  if (existsSync(path.join(v1, "cpuacct", rel))) {
    const cpuSeconds = readNumber(path.join(v1, "cpuacct", rel, "cpuacct.usage")) / 1e9;
    return {
      pod: `${namespace}/${pod}`,
      cpuSeconds,
      averageCores: cpuSeconds / ageSeconds,
      memoryBytes: readNumber(path.join(v1, "memory", rel, "memory.usage_in_bytes")),
      rssBytes: statField(path.join(v1, "memory", rel, "memory.stat"), "total_rss"),
    };
  }
  const v2 = existsSync(path.join(v1, "unified")) ? path.join(v1, "unified", rel) : path.join(v1, rel);
  const cpuSeconds = statField(path.join(v2, "cpu.stat"), "usage_usec") / 1e6;
  return {
    pod: `${namespace}/${pod}`,
    cpuSeconds,
    averageCores: cpuSeconds / ageSeconds,
    memoryBytes: readNumber(path.join(v2, "memory.current")),
    rssBytes: statField(path.join(v2, "memory.stat"), "anon"),
  };
}

export function formatUsage(u: PodUsage): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  return `${u.pod}: cpu ${u.cpuSeconds.toFixed(1)} s (${(u.averageCores * 100).toFixed(1)} % of a core on average), memory ${mib(u.memoryBytes)} (rss ${mib(u.rssBytes)})`;
}
