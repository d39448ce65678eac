/** Naming a network namespace without Kubernetes: by the container runtime's cgroup of its process. */
import { describe, expect, it } from "vitest";
import { containerNameOf } from "../../../agent/attribution/cgroup-path.js";

const ID = "3f2a1b9c0d12e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9";

describe("container names from /proc/<pid>/cgroup", () => {
  it("names Docker, Podman, containerd and CRI-O scopes (systemd driver) by runtime and short id", () => {
    expect(containerNameOf(`0::/system.slice/docker-${ID}.scope\n`)).toBe("docker-3f2a1b9c0d12");
    expect(containerNameOf(`0::/machine.slice/libpod-${ID}.scope/container\n`)).toBe("podman-3f2a1b9c0d12");
    expect(containerNameOf(`0::/system.slice/cri-containerd-${ID}.scope\n`)).toBe(
      "cri-containerd-3f2a1b9c0d12",
    );
    expect(containerNameOf(`0::/crio-${ID}.scope\n`)).toBe("crio-3f2a1b9c0d12");
  });

  it("names Docker under the cgroupfs driver (v1 hierarchies too), and nothing else", () => {
    expect(containerNameOf(`12:memory:/docker/${ID}\n0::/\n`)).toBe("docker-3f2a1b9c0d12");
    expect(containerNameOf("0::/user.slice/user-1000.slice/session-2.scope\n")).toBeNull();
    expect(containerNameOf(`0::/system.slice/docker-${ID.slice(0, 20)}.scope\n`)).toBeNull();
  });
});
