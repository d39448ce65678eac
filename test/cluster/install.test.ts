/**
 * helm/tcpstate on a real one-node Kubernetes cluster (scripts/cluster/, v1.34 with containerd and runc): a user's
 * `helm install` with the default values (images and storage aside) comes up, `helm test` passes, the commands
 * NOTES.txt prints work as printed, and `helm uninstall` leaves no workload and no bpftrace behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/agent-process.js";
import { stopChild } from "../support/child-process.js";
import { CLUSTER_UP_TIMEOUT_MS, type Cluster, startCluster } from "../support/cluster.js";
import { withReport } from "../support/cluster-diagnostics.js";
import { INSTALL_READY_TIMEOUT_S, installTcpstate, type Release } from "../support/cluster-release.js";

const NAMESPACE = "tcpstate";
const RELEASE = "tcpstate";
const IMAGE_BUILD_TIMEOUT_MS = 20 * 60_000;

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    status: { phase: string; conditions?: { type: string; status: string }[] };
  }[];
}

/** Processes named bpftrace on the host that run in a pod of the cluster (its kubelet's cgroupfs kubepods/). */
function bpftraceInPods(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "bpftrace") continue;
      if (readFileSync(`/proc/${entry}/cgroup`, "utf8").includes(":/kubepods/")) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

describe("cluster: helm install of the chart with default values", () => {
  let cluster: Cluster;
  let release: Release;
  let installSeconds = 0;

  beforeAll(async () => {
    cluster = await startCluster();
    const t0 = Date.now();
    release = await installTcpstate(cluster, RELEASE, NAMESPACE);
    installSeconds = (Date.now() - t0) / 1000;
  }, CLUSTER_UP_TIMEOUT_MS + IMAGE_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await cluster?.helm(["uninstall", RELEASE, "-n", NAMESPACE, "--wait"]).catch(() => undefined);
    await cluster?.release();
  }, 5 * 60_000);

  it("brings every pod Ready: agent, collector, NATS", async () => {
    const pods = await cluster.kubectlJson<PodList>(["-n", NAMESPACE, "get", "pods"]);
    const components = pods.items.map((p) => p.metadata.labels?.["app.kubernetes.io/component"]).sort();
    expect(components).toEqual(["agent", "collector", "nats"]);
    for (const pod of pods.items) {
      const ready = pod.status.conditions?.find((c) => c.type === "Ready")?.status;
      expect(ready, pod.metadata.name).toBe("True");
    }
    console.log(
      `helm install → all pods Ready in ${installSeconds.toFixed(0)} s (bound ${INSTALL_READY_TIMEOUT_S} s)`,
    );
  });

  it("passes `helm test`: the collector is ready and the agent reports to it", async () => {
    const out = await withReport(cluster, NAMESPACE, () =>
      cluster.helm(["test", RELEASE, "-n", NAMESPACE, "--timeout", "180s"], { timeoutMs: 200_000 }),
    );
    // The pod is deleted once it succeeds (a failed one stays, and the report above shows its log).
    expect(out).toMatch(/TEST SUITE:\s+tcpstate-test[\s\S]*Phase:\s+Succeeded/);
  }, 210_000);

  describe("the commands NOTES.txt prints, run as printed", () => {
    let notes: string;
    let bin: string;

    beforeAll(async () => {
      notes = await cluster.helm(["get", "notes", RELEASE, "-n", NAMESPACE]);
      // What a user has on a workstation: kubectl and helm for this cluster, the tcpstate CLI, curl.
      bin = await mkdtemp(path.join(tmpdir(), "tcpstate-notes-"));
      const cli = path.join(repoRoot(), "dist/cli/main.js");
      await writeFile(path.join(bin, "tcpstate"), `#!/bin/sh\nexec node ${cli} "$@"\n`);
      await chmod(path.join(bin, "tcpstate"), 0o755);
    });

    afterAll(async () => {
      if (bin) await rm(bin, { recursive: true, force: true });
    });

    /** The `index`th command line of the notes that starts with `prefix`, its comment cut. */
    function printed(prefix: string, index = 0): string {
      const lines = notes
        .split("\n")
        .map((l) => l.replace(/\s+#.*$/, "").trim())
        .filter((l) => l.startsWith(prefix));
      const line = lines[index];
      if (line === undefined)
        throw new Error(`NOTES.txt prints no command "${prefix}…" (#${index}):\n${notes}`);
      return line;
    }

    /** A printed line run by sh in the node's network namespace with the user's PATH. */
    function shell(line: string, timeoutMs = 60_000): Promise<string> {
      const env = `PATH=${bin}:${cluster.state}/bin:${process.env.PATH}`;
      return cluster.inNodeNet(["env", env, "sh", "-ec", line], { timeoutMs });
    }

    it("rollout status of the agent DaemonSet", async () => {
      const line = printed("kubectl -n tcpstate rollout status daemonset/");
      expect(await shell(`${line} --timeout=60s`)).toContain("successfully rolled out");
    });

    it("`kubectl exec deploy/<collector> -- tcpstate top` and `tcpstate pod` inside the collector", async () => {
      const top = printed("kubectl -n tcpstate exec deploy/", 0);
      const pod = printed("kubectl -n tcpstate exec deploy/", 1);
      expect(top).toContain(`deploy/${release.collectorName} -- tcpstate top -A`);
      expect(pod).toContain("tcpstate pod NAMESPACE/POD");
      // The collector's own pod talks to NATS, so an agent reports it within a few windows.
      const collectorPod = (
        await cluster.kubectl([
          "-n",
          NAMESPACE,
          "get",
          "pods",
          "-l",
          "app.kubernetes.io/component=collector",
          "-o",
          "jsonpath={.items[0].metadata.name}",
        ])
      ).trim();
      const deadline = Date.now() + 90_000;
      const row = new RegExp(`^${NAMESPACE}\\s+${collectorPod}\\s`, "m");
      let table = "";
      for (;;) {
        table = await shell(`${top} --show-idle`);
        if (row.test(table) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 3_000));
      }
      expect(table).toMatch(row);
      const detail = await shell(pod.replace("NAMESPACE/POD", `${NAMESPACE}/${collectorPod}`));
      expect(detail).toContain(`${NAMESPACE}/${collectorPod}`);
    }, 150_000);

    it("port-forward to the collector's Service, then `tcpstate top` and curl through it", async () => {
      const forward = printed("kubectl -n tcpstate port-forward svc/");
      const env = { ...process.env, PATH: `${bin}:${cluster.state}/bin:${process.env.PATH}` };
      const child: ChildProcess = spawn(
        "nsenter",
        [`--net=${cluster.netns}`, "--", "sh", "-ec", `exec ${forward}`],
        {
          env,
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let output = "";
      child.stdout?.on("data", (d) => {
        output += d;
      });
      child.stderr?.on("data", (d) => {
        output += d;
      });
      try {
        const deadline = Date.now() + 30_000;
        while (!output.includes("Forwarding from") && Date.now() < deadline && child.exitCode === null)
          await new Promise((r) => setTimeout(r, 200));
        expect(output, "kubectl port-forward").toContain("Forwarding from 127.0.0.1:8080");
        const top = printed("tcpstate top -A --server");
        expect(await shell(`${top} --show-idle`)).toMatch(/NAMESPACE\/POD|POD/);
        const curl = printed("curl -s http://127.0.0.1:8080/api/v1/pods");
        const pods = JSON.parse(await shell(curl)) as { pods: unknown[] };
        expect(Array.isArray(pods.pods)).toBe(true);
      } finally {
        await stopChild(child, "SIGTERM", 5_000);
      }
    }, 90_000);
  });

  it("is gone after `helm uninstall`: no tcpstate workload, no bpftrace on the host", async () => {
    expect(bpftraceInPods().length, "bpftrace runs in the agent pod before").toBeGreaterThan(0);
    await cluster.helm(["uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "120s"], {
      timeoutMs: 150_000,
    });
    const selector = `app.kubernetes.io/instance=${RELEASE}`;
    // --wait waits for the workloads; their pods take their grace period to go.
    const podsGone = Date.now() + 90_000;
    while (
      (await cluster.kubectl(["get", "pods", "-A", "-l", selector, "-o", "name"])).trim() &&
      Date.now() < podsGone
    )
      await new Promise((r) => setTimeout(r, 1_000));
    const left = await cluster.kubectl([
      "get",
      "pods,daemonsets,deployments,statefulsets,services,configmaps,secrets,networkpolicies,serviceaccounts,pvc",
      "-A",
      "-l",
      selector,
      "-o",
      "name",
    ]);
    expect(left.trim()).toBe("");
    const rbac = await cluster.kubectl([
      "get",
      "clusterroles,clusterrolebindings",
      "-l",
      selector,
      "-o",
      "name",
    ]);
    expect(rbac.trim()).toBe("");
    // The agent's pod is gone, and with it its bpftrace (the kubelet waits for its containers to stop).
    const deadline = Date.now() + 60_000;
    while (bpftraceInPods().length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 1_000));
    expect(bpftraceInPods()).toEqual([]);
  }, 200_000);
});
