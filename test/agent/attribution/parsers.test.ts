import { readFileSync } from "node:fs";
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parseKubepodsPath, parseProcCgroup } from "../../../agent/attribution/cgroup-path.js";
import { parseNetnsLink } from "../../../agent/attribution/netns-scan.js";
import { boundedLabels, podMetaOf, workloadOf } from "../../../agent/attribution/pod-meta.js";
import {
  compressIpv6,
  parseFibTrieLocalAddresses,
  parseIfInet6,
} from "../../../agent/attribution/proc-net.js";

/* Fixtures under test/fixtures/proc are verbatim copies of this machine's files (test/fixtures/proc/capture.sh). */
const proc = (name: string) => readFileSync(new URL(`../../fixtures/proc/${name}`, import.meta.url), "utf8");

const UID = "1f4b1a8c-3d2e-4c5b-9a8f-0e1d2c3b4a59";
const UID_SYSTEMD = UID.replaceAll("-", "_");
const CID = "8f2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4e5f60718293a4b5c6d7e8f9012";

describe("parseKubepodsPath: pod UID and container id from a kubepods cgroup path", () => {
  it.each([
    [
      "containerd, systemd driver, BestEffort",
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_SYSTEMD}.slice/cri-containerd-${CID}.scope`,
    ],
    [
      "containerd, systemd driver, Burstable",
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_SYSTEMD}.slice/cri-containerd-${CID}.scope`,
    ],
    [
      "containerd, systemd driver, Guaranteed",
      `/kubepods.slice/kubepods-pod${UID_SYSTEMD}.slice/cri-containerd-${CID}.scope`,
    ],
    [
      "CRI-O, systemd driver",
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_SYSTEMD}.slice/crio-${CID}.scope`,
    ],
    [
      "Docker (cri-dockerd), systemd driver",
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_SYSTEMD}.slice/docker-${CID}.scope`,
    ],
    ["containerd or Docker, cgroupfs driver, BestEffort", `/kubepods/besteffort/pod${UID}/${CID}`],
    ["containerd or Docker, cgroupfs driver, Guaranteed", `/kubepods/pod${UID}/${CID}`],
    ["CRI-O, cgroupfs driver", `/kubepods/burstable/pod${UID}/crio-${CID}`],
    [
      "a node that is itself a Docker container (k3d), cgroupfs driver",
      `/docker/${"a".repeat(64)}/kubepods/besteffort/pod${UID}/${CID}`,
    ],
  ])("reads %s", (_runtime, path) => {
    expect(parseKubepodsPath(path)).toEqual({ podUid: UID, containerId: CID });
  });

  it("reads a pod-level cgroup without a container", () => {
    expect(
      parseKubepodsPath(
        `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_SYSTEMD}.slice`,
      ),
    ).toEqual({ podUid: UID, containerId: null });
  });

  it("writes the pod UID with dashes whichever driver wrote it", () => {
    const systemd = parseKubepodsPath(`/kubepods.slice/kubepods-pod${UID_SYSTEMD}.slice`);
    const cgroupfs = parseKubepodsPath(`/kubepods/pod${UID}`);
    expect(systemd?.podUid).toBe(UID);
    expect(cgroupfs?.podUid).toBe(UID);
  });

  it.each([
    ["the root cgroup", "/"],
    ["a system service", "/system.slice/containerd.service"],
    ["a login session", "/user.slice/user-1000.slice/session-3.scope"],
    ["a plain Docker container", `/system.slice/docker-${CID}.scope`],
    ["the kubepods slice itself", "/kubepods.slice"],
    ["a QoS slice", "/kubepods.slice/kubepods-besteffort.slice"],
    ["a kubepods path with a malformed pod UID", "/kubepods/besteffort/pod1234/abc"],
    ["an empty path", ""],
  ])("returns null for %s", (_what, path) => {
    expect(parseKubepodsPath(path)).toBeNull();
  });

  // kind clusters on cgroup v2 run kubelet with a cgroup root: /kubelet.slice/kubelet-kubepods.slice/….
  it("reads a kind node's path (kubelet cgroup root, systemd driver)", () => {
    const path = `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_SYSTEMD}.slice/cri-containerd-${CID}.scope`;
    expect(parseKubepodsPath(path)).toEqual({ podUid: UID, containerId: CID });
  });
});

describe("parseProcCgroup: the pod of a process from /proc/<pid>/cgroup", () => {
  it("reads a cgroup v2 file", () => {
    const text = `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_SYSTEMD}.slice/cri-containerd-${CID}.scope\n`;
    expect(parseProcCgroup(text)).toEqual({ podUid: UID, containerId: CID });
  });

  it("reads a cgroup v1 file", () => {
    const text = [
      `12:pids:/kubepods/burstable/pod${UID}/${CID}`,
      `11:memory:/kubepods/burstable/pod${UID}/${CID}`,
      `10:cpu,cpuacct:/kubepods/burstable/pod${UID}/${CID}`,
      `1:name=systemd:/kubepods/burstable/pod${UID}/${CID}`,
      "",
    ].join("\n");
    expect(parseProcCgroup(text)).toEqual({ podUid: UID, containerId: CID });
  });

  it("reads a hybrid file whose v2 line is the root and whose v1 lines hold the pod", () => {
    const text = [
      `9:name=systemd:/kubepods.slice/kubepods-pod${UID_SYSTEMD}.slice/cri-containerd-${CID}.scope`,
      `4:memory:/kubepods.slice/kubepods-pod${UID_SYSTEMD}.slice/cri-containerd-${CID}.scope`,
      "0::/",
      "",
    ].join("\n");
    expect(parseProcCgroup(text)).toEqual({ podUid: UID, containerId: CID });
  });

  it("prefers the cgroup v2 line over v1 lines", () => {
    const other = "99999999-8888-4777-8666-555555555555";
    const text = [
      `4:memory:/kubepods/pod${other}/${"b".repeat(64)}`,
      `0::/kubepods/pod${UID}/${CID}`,
      "",
    ].join("\n");
    expect(parseProcCgroup(text)?.podUid).toBe(UID);
  });

  it("returns null for this machine's own process, which no pod owns", () => {
    expect(parseProcCgroup(proc("self-cgroup.txt"))).toBeNull();
  });

  it("returns null for an empty file", () => {
    expect(parseProcCgroup("")).toBeNull();
  });
});

describe("parseFibTrieLocalAddresses: a netns's IPv4 addresses from /proc/<pid>/net/fib_trie", () => {
  it("finds this machine's one non-loopback address once, though both tables list it", () => {
    // `ip -br addr` on the machine the fixture comes from: lo 127.0.0.1/8, eth0 192.0.2.2/24.
    expect(parseFibTrieLocalAddresses(proc("node-fib_trie.txt"))).toEqual(["192.0.2.2"]);
  });

  it("finds every address of a pod-like netns and skips loopback, network and broadcast entries", () => {
    expect(parseFibTrieLocalAddresses(proc("pod-fib_trie.txt")).sort()).toEqual([
      "10.244.1.23",
      "172.16.5.9",
    ]);
  });
});

describe("parseIfInet6: a netns's IPv6 addresses from /proc/<pid>/net/if_inet6", () => {
  it("finds this machine's unique-local address and skips link-local and loopback", () => {
    expect(parseIfInet6(proc("node-if_inet6.txt"))).toEqual(["fd00::2"]);
  });

  it("finds the global and unique-local addresses of a pod-like netns in RFC 5952 form", () => {
    expect(parseIfInet6(proc("pod-if_inet6.txt")).sort()).toEqual(["2001:db8::1:0:0:1", "fd00:10:244:1::17"]);
  });

  it("ignores blank and short lines", () => {
    expect(parseIfInet6("\n  \nfd00 04 40 00 82 eth0\n")).toEqual([]);
  });
});

describe("compressIpv6: RFC 5952 text form", () => {
  it.each([
    [[0, 0, 0, 0, 0, 0, 0, 0], "::"],
    [[0, 0, 0, 0, 0, 0, 0, 1], "::1"],
    [[0xfe80, 0, 0, 0, 0, 0, 0, 0], "fe80::"],
    [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], "2001:db8::1"],
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], "2001:db8:0:1:1:1:1:1"], // a single 0 group is not compressed
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], "2001:db8::1:0:0:1"], // of equal runs, the first
    [[0x2001, 0, 0, 1, 0, 0, 0, 1], "2001:0:0:1::1"], // the longest run
    [[0xfd00, 0x0010, 0x0244, 0x0001, 0, 0, 0, 0x0017], "fd00:10:244:1::17"], // no leading zeros
    [
      [0x2001, 0xdb8, 0xabcd, 0xef01, 0x2345, 0x6789, 0xabcd, 0xef01],
      "2001:db8:abcd:ef01:2345:6789:abcd:ef01",
    ],
  ])("writes %j as %s", (groups, text) => {
    expect(compressIpv6(groups)).toBe(text);
  });
});

describe("pod metadata", () => {
  const podWith = (
    owner: { kind: string; name: string } | null,
    labels: Record<string, string> = {},
  ): V1Pod => ({
    metadata: {
      namespace: "shop",
      name: "p",
      uid: UID,
      labels,
      ownerReferences: owner
        ? [{ apiVersion: "apps/v1", kind: owner.kind, name: owner.name, uid: "owner-uid", controller: true }]
        : undefined,
    },
  });

  it("names the Deployment of a ReplicaSet pod: the ReplicaSet's name minus the pod-template-hash", () => {
    expect(
      workloadOf(
        podWith({ kind: "ReplicaSet", name: "web-frontend-7d9f8b6c5" }, { "pod-template-hash": "7d9f8b6c5" }),
      ),
    ).toEqual({ kind: "Deployment", name: "web-frontend" });
  });

  it("keeps a ReplicaSet not made by a Deployment (no matching pod-template-hash) as a ReplicaSet", () => {
    expect(workloadOf(podWith({ kind: "ReplicaSet", name: "legacy-rs" }))).toEqual({
      kind: "ReplicaSet",
      name: "legacy-rs",
    });
    expect(
      workloadOf(podWith({ kind: "ReplicaSet", name: "web-abc" }, { "pod-template-hash": "xyz" })),
    ).toEqual({
      kind: "ReplicaSet",
      name: "web-abc",
    });
  });

  it("names StatefulSets and DaemonSets as they are", () => {
    expect(workloadOf(podWith({ kind: "StatefulSet", name: "db" }))).toEqual({
      kind: "StatefulSet",
      name: "db",
    });
    expect(workloadOf(podWith({ kind: "DaemonSet", name: "tcpstate-agent" }))).toEqual({
      kind: "DaemonSet",
      name: "tcpstate-agent",
    });
  });

  it("names a Job as a Job", () => {
    expect(workloadOf(podWith({ kind: "Job", name: "db-migrate" }))).toEqual({
      kind: "Job",
      name: "db-migrate",
    });
  });

  it("names the CronJob of a Job it made (<cronjob>-<minutes since the epoch>)", () => {
    expect(workloadOf(podWith({ kind: "Job", name: "nightly-backup-28391520" }))).toEqual({
      kind: "CronJob",
      name: "nightly-backup",
    });
  });

  it("names other controllers with their kind", () => {
    expect(workloadOf(podWith({ kind: "Rollout", name: "canary" }))).toEqual({
      kind: "Other",
      name: "Rollout/canary",
    });
  });

  it("gives a bare pod no workload", () => {
    expect(workloadOf(podWith(null))).toBeNull();
  });

  it("uses the controller reference when a pod has several owners", () => {
    const pod: V1Pod = {
      metadata: {
        ownerReferences: [
          { apiVersion: "v1", kind: "ConfigMap", name: "x", uid: "1" },
          { apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: "2", controller: true },
        ],
      },
    };
    expect(workloadOf(pod)).toEqual({ kind: "StatefulSet", name: "db" });
  });

  it("keeps at most the given number of labels, the first in name order", () => {
    const labels = { zone: "a", app: "web", tier: "front", "app.kubernetes.io/name": "web" };
    expect(boundedLabels(labels, 2)).toEqual({ app: "web", "app.kubernetes.io/name": "web" });
    expect(boundedLabels(labels, 0)).toEqual({});
    expect(boundedLabels(labels, 16)).toEqual(labels);
    expect(boundedLabels(undefined, 16)).toEqual({});
  });

  it("builds the wire owner of a pod with its IPs, workload and bounded labels", () => {
    const pod: V1Pod = {
      metadata: {
        namespace: "shop",
        name: "web-7d9f8b6c5-x2x4q",
        uid: UID,
        labels: { app: "web", "pod-template-hash": "7d9f8b6c5", tier: "front" },
        ownerReferences: [
          { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-7d9f8b6c5", uid: "rs", controller: true },
        ],
      },
      spec: { containers: [], hostNetwork: false },
      status: { podIP: "10.244.1.23", podIPs: [{ ip: "10.244.1.23" }, { ip: "fd00:10:244:1::17" }] },
    };
    expect(podMetaOf(pod, 2)).toEqual({
      kind: "pod",
      namespace: "shop",
      name: "web-7d9f8b6c5-x2x4q",
      uid: UID,
      hostNetwork: false,
      workload: { kind: "Deployment", name: "web" },
      labels: { app: "web", "pod-template-hash": "7d9f8b6c5" },
      ips: ["10.244.1.23", "fd00:10:244:1::17"],
    });
  });

  it("falls back to status.podIP, marks hostNetwork pods, and has no IPs for a pod not yet given one", () => {
    const base = { metadata: { namespace: "kube-system", name: "n", uid: UID } };
    expect(podMetaOf({ ...base, status: { podIP: "192.0.2.2" } }, 16)?.ips).toEqual(["192.0.2.2"]);
    expect(podMetaOf({ ...base, spec: { containers: [], hostNetwork: true } }, 16)?.hostNetwork).toBe(true);
    expect(podMetaOf({ ...base, status: {} }, 16)?.ips).toEqual([]);
  });

  it("returns null for a pod without namespace, name or uid", () => {
    expect(podMetaOf({ metadata: { name: "n", uid: UID } }, 16)).toBeNull();
    expect(podMetaOf({ metadata: { namespace: "x", uid: UID } }, 16)).toBeNull();
    expect(podMetaOf({ metadata: { namespace: "x", name: "n" } }, 16)).toBeNull();
    expect(podMetaOf({}, 16)).toBeNull();
  });
});

describe("parseNetnsLink", () => {
  it("reads the inode of this process's real ns/net link", () => {
    const link = proc("self-ns-net-link.txt").trim();
    expect(parseNetnsLink(link)).toBe(Number(/\d+/.exec(link)?.[0]));
  });

  it("reads a netns inode", () => {
    expect(parseNetnsLink("net:[4026531840]")).toBe(4026531840);
  });

  it.each(["mnt:[4026531841]", "net:[abc]", "net:[4026531840", "net:4026531840", "/proc/1/ns/net", ""])(
    "returns null for %j",
    (link) => {
      expect(parseNetnsLink(link)).toBeNull();
    },
  );
});
