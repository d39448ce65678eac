/**
 * This machine's own cgroup layout (hybrid here: cgroup2 at /sys/fs/cgroup/unified): with the chart's default
 * cgroup path, /sys/fs/cgroup, the agent finds the cgroup v2 tree that holds the pods' cgroups.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseCgroup2Root } from "../../agent/attribution/cgroup2-root.js";
import { cgroup2Root, createHostPod, type HostPod } from "../support/host-pod.js";

describe("cgroup v2 root on this host (real /proc and cgroup mounts)", () => {
  let pod: HostPod;
  beforeAll(async () => {
    pod = await createHostPod();
  });
  afterAll(async () => {
    await pod?.destroy();
  });

  it("finds the pod's cgroup from the default /sys/fs/cgroup, wherever cgroup2 is mounted", async () => {
    const choice = await chooseCgroup2Root({
      configured: "/sys/fs/cgroup",
      procRoot: "/proc",
      selfProc: "/proc",
    });
    expect(choice).toMatchObject({ kind: "found", root: await cgroup2Root() });
    if (choice.kind !== "found") throw new Error("unreachable");
    expect(choice.index.dirsOf(pod.uid)).toContain(pod.scope);
  });
});
