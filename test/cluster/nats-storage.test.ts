/**
 * The bundled NATS on a PersistentVolumeClaim on a real cluster (a static hostPath PersistentVolume: the test
 * cluster has no provisioner), and what `helm uninstall` does with the claim: kept by default, deleted with
 * nats.persistence.deleteOnUninstall=true.
 */
import { chown, mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_UP_TIMEOUT_MS, type Cluster, startCluster } from "../support/cluster.js";
import { clusterValues, installTcpstate } from "../support/cluster-release.js";

const NAMESPACE = "tcpstate-storage";
const RELEASE = "tcpstate";
const PV = "tcpstate-nats-data";
const NATS_UID = 1000; // the chart's runAsUser for NATS; a hostPath volume ignores fsGroup
const CLAIM = `data-${RELEASE}-nats-0`;
const IMAGE_BUILD_TIMEOUT_MS = 20 * 60_000;

describe("cluster: the bundled NATS's PersistentVolumeClaim across helm uninstall", () => {
  let cluster: Cluster;
  let dir: string;

  /** A PersistentVolume the claim can bind (again), on a directory NATS may write. */
  async function freshVolume(): Promise<void> {
    await cluster.kubectl(["delete", "pv", PV, "--ignore-not-found", "--wait"]);
    await cluster.kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: PV },
        spec: {
          capacity: { storage: "10Gi" },
          accessModes: ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: "Retain",
          hostPath: { path: dir, type: "Directory" },
        },
      }),
    });
  }

  async function claimExists(): Promise<boolean> {
    return (await cluster.kubectl(["-n", NAMESPACE, "get", "pvc", "-o", "name"])).includes(`/${CLAIM}`);
  }

  async function uninstall(): Promise<void> {
    await cluster.helm(["uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "120s"], {
      timeoutMs: 150_000,
    });
    const gone = Date.now() + 90_000;
    const selector = `app.kubernetes.io/instance=${RELEASE}`;
    while ((await cluster.kubectl(["-n", NAMESPACE, "get", "pods", "-l", selector, "-o", "name"])).trim()) {
      if (Date.now() > gone) throw new Error("the release's pods are still there 90 s after helm uninstall");
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  beforeAll(async () => {
    cluster = await startCluster();
    // The images built and imported up front: a first build on a fresh machine takes minutes.
    await clusterValues(cluster);
    dir = path.join(cluster.state, "volumes", PV);
    await mkdir(dir, { recursive: true });
    await chown(dir, NATS_UID, NATS_UID);
  }, CLUSTER_UP_TIMEOUT_MS + IMAGE_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await cluster?.helm(["uninstall", RELEASE, "-n", NAMESPACE, "--wait"]).catch(() => undefined);
    await cluster?.kubectl(["delete", "namespace", NAMESPACE, "--wait=false"]).catch(() => undefined);
    await cluster?.kubectl(["delete", "pv", PV, "--ignore-not-found"]).catch(() => undefined);
    await cluster?.release();
  }, 5 * 60_000);

  it("keeps the claim, and the streams on it, after helm uninstall by default", async () => {
    await freshVolume();
    await installTcpstate(cluster, RELEASE, NAMESPACE, { "nats.persistence.enabled": "true" });
    const claim = await cluster.kubectlJson<{ spec: { volumeName: string }; status: { phase: string } }>([
      "-n",
      NAMESPACE,
      "get",
      "pvc",
      CLAIM,
    ]);
    expect(claim.status.phase).toBe("Bound");
    expect(claim.spec.volumeName).toBe(PV);
    const notes = await cluster.helm(["get", "notes", RELEASE, "-n", NAMESPACE]);
    expect(notes).toContain("`helm uninstall` keeps the PVC");
    await uninstall();
    expect(await claimExists()).toBe(true);
    // JetStream wrote its store there (the collector created its streams), and it is still there.
    expect(await readdir(dir, { recursive: true })).toContainEqual(
      expect.stringMatching(/TCPSTATE_SUMMARIES/),
    );
    // As the notes print it, for a fresh start.
    await cluster.kubectl([
      "-n",
      NAMESPACE,
      "delete",
      "pvc",
      "-l",
      `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=nats`,
    ]);
    expect(await claimExists()).toBe(false);
  }, 400_000);

  it("deletes the claim with the release when nats.persistence.deleteOnUninstall is true", async () => {
    await freshVolume();
    await installTcpstate(cluster, RELEASE, NAMESPACE, {
      "nats.persistence.enabled": "true",
      "nats.persistence.deleteOnUninstall": "true",
    });
    expect(await claimExists()).toBe(true);
    await uninstall();
    // The StatefulSet controller marked the claim as owned by the StatefulSet; the garbage collector takes it.
    const deadline = Date.now() + 60_000;
    while ((await claimExists()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1_000));
    expect(await claimExists()).toBe(false);
  }, 400_000);
});
