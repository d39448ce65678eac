/**
 * helm/tcpstate installed on the test cluster with its default values except what no test cluster can take from
 * a registry or a StorageClass: the locally built images (pullPolicy Never) and NATS on an emptyDir. The chart's
 * security defaults (NetworkPolicies, NATS users) stay on.
 */
import path from "node:path";
import { repoRoot } from "./agent-process.js";
import { type Cluster, tcpstateImageIn } from "./cluster.js";
import { withReport } from "./cluster-diagnostics.js";

export const CHART = path.join(repoRoot(), "helm/tcpstate");
/** Every pod Ready within this: images are local, so it is start-up only (NATS, then collector and agent). */
export const INSTALL_READY_TIMEOUT_S = 180;

export interface Release {
  name: string;
  namespace: string;
  /** The --set values of the install. */
  values: Record<string, string>;
  /** Objects named by the chart for this release. */
  agentName: string;
  collectorName: string;
  natsName: string;
}

/** The --set values that run the chart on the test cluster. */
export async function clusterValues(cluster: Cluster): Promise<Record<string, string>> {
  const image = await tcpstateImageIn(cluster);
  const nats = await cluster.builtImage("nats");
  return {
    "image.repository": image.repository,
    "image.tag": image.tag,
    "image.pullPolicy": "Never",
    "nats.image.repository": nats.repository,
    "nats.image.tag": nats.tag,
    "nats.image.pullPolicy": "Never",
    "nats.persistence.enabled": "false",
  };
}

function setArgs(values: Record<string, string>): string[] {
  return Object.entries(values).flatMap(([k, v]) => ["--set", `${k}=${v}`]);
}

/** `helm install --wait`: resolves once every workload is ready; on failure the error shows the namespace. */
export async function installTcpstate(
  cluster: Cluster,
  name: string,
  namespace: string,
  extra: Record<string, string> = {},
): Promise<Release> {
  const values = { ...(await clusterValues(cluster)), ...extra };
  const deadline = Date.now() + INSTALL_READY_TIMEOUT_S * 1000;
  await withReport(cluster, namespace, async () => {
    await cluster.helm(
      [
        "install",
        name,
        CHART,
        "--namespace",
        namespace,
        "--create-namespace",
        "--wait",
        "--timeout",
        `${INSTALL_READY_TIMEOUT_S}s`,
        ...setArgs(values),
      ],
      { timeoutMs: (INSTALL_READY_TIMEOUT_S + 30) * 1000 },
    );
    // helm's --wait lets a DaemonSet be short of its maxUnavailable (1): on one node, not even one agent Ready.
    const left = Math.max(1, Math.round((deadline - Date.now()) / 1000));
    await cluster.kubectl(
      ["-n", namespace, "wait", "--for=condition=Ready", "pods", "--all", `--timeout=${left}s`],
      {
        timeoutMs: (left + 10) * 1000,
      },
    );
  });
  const full = name.includes("tcpstate") ? name : `${name}-tcpstate`;
  return {
    name,
    namespace,
    values,
    agentName: `${full}-agent`,
    collectorName: `${full}-collector`,
    natsName: `${full}-nats`,
  };
}
