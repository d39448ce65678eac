/** What a failed cluster test shows: the namespace's pods, recent events, and the logs of pods not Ready. */
import type { Cluster } from "./cluster.js";

interface PodList {
  items: {
    metadata: { name: string };
    status: { conditions?: { type: string; status: string }[] };
  }[];
}

const settle = (p: Promise<string>) => p.catch((err: Error) => `(failed: ${err.message})`);

export async function namespaceReport(cluster: Cluster, namespace: string): Promise<string> {
  const parts = [
    `--- pods in ${namespace} ---\n${await settle(cluster.kubectl(["-n", namespace, "get", "pods", "-o", "wide"]))}`,
    `--- events in ${namespace} ---\n${await settle(
      cluster
        .kubectl(["-n", namespace, "get", "events", "--sort-by=.lastTimestamp"])
        .then((s) => s.split("\n").slice(-25).join("\n")),
    )}`,
  ];
  const pods = await cluster
    .kubectlJson<PodList>(["-n", namespace, "get", "pods"])
    .catch(() => ({ items: [] }));
  for (const pod of pods.items) {
    const ready = pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    if (ready) continue;
    const name = pod.metadata.name;
    parts.push(
      `--- ${name} (not Ready): describe ---\n${await settle(
        cluster
          .kubectl(["-n", namespace, "describe", "pod", name])
          .then((s) => s.split("\n").slice(-40).join("\n")),
      )}`,
      `--- ${name}: logs ---\n${await settle(
        cluster.kubectl(["-n", namespace, "logs", name, "--all-containers", "--tail=30"]),
      )}`,
    );
  }
  return parts.join("\n");
}

/** Runs `step`; when it throws, the error carries the namespace's report. */
export async function withReport<T>(cluster: Cluster, namespace: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const report = await namespaceReport(cluster, namespace);
    throw new Error(`${(err as Error).message}\n${report}`, { cause: err });
  }
}
