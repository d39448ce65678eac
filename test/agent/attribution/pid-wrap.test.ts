/**
 * After PIDs wrap, the lowest pid of a pod's netns can be a short-lived process: gone (or elsewhere in the
 * cgroup tree) by the time its cgroup is read. A pod known once stays the pod's; it never falls back to a name.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NetnsAttributor } from "../../../agent/attribution/netns-attributor.js";
import { processHandle } from "../../../agent/attribution/netns-handle.js";
import { representativeCandidates } from "../../../agent/attribution/netns-scan.js";
import type { PodLookup } from "../../../agent/attribution/pod-index.js";
import type { PodMeta } from "../../../agent/attribution/pod-meta.js";

const HOST = 4026531840;
const POD_NETNS = 4026532100;
const POD_UID = "0b5c9a3e-1f2d-4c6b-9a8e-7d6c5b4a3f21";
const AGENT_UID = "1c6d0b4f-2a3e-4d7c-8b9f-8e7d6c5b4a32";

const pod = (uid: string, name: string, hostNetwork: boolean): PodMeta => ({
  kind: "pod",
  namespace: "shop",
  name,
  uid,
  hostNetwork,
  workload: null,
  labels: {},
  ips: [],
});

const PODS: PodLookup = {
  synced: true,
  byUid: (uid) =>
    uid === POD_UID
      ? pod(POD_UID, "client", false)
      : uid === AGENT_UID
        ? pod(AGENT_UID, "agent", true)
        : undefined,
  byIp: () => undefined,
  all: () => [pod(POD_UID, "client", false), pod(AGENT_UID, "agent", true)],
};

const kubepods = (uid: string) =>
  `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replaceAll("-", "_")}.slice/cri-containerd-${"a".repeat(64)}.scope\n`;

let root: string;
let procRoot: string;

/** A process in netns `inode`; `cgroup` null: it exited after its ns link was read (no cgroup file). */
async function addProcess(pid: number, inode: number, cgroup: string | null): Promise<void> {
  await mkdir(join(procRoot, String(pid), "ns"), { recursive: true });
  await symlink(`net:[${inode}]`, join(procRoot, String(pid), "ns", "net"));
  if (cgroup !== null) await writeFile(join(procRoot, String(pid), "cgroup"), cgroup);
}

const exit = (pid: number) => rm(join(procRoot, String(pid)), { recursive: true, force: true });

async function attributor(): Promise<NetnsAttributor> {
  await mkdir(join(root, "netns"), { recursive: true });
  return new NetnsAttributor({ procRoot, netnsDir: join(root, "netns"), pods: PODS, cgroups: null });
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "pid-wrap-"));
  procRoot = join(root, "proc");
  await addProcess(1, HOST, "0::/init.scope\n");
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("representativeCandidates", () => {
  it("keeps the previous representative while it lives in the netns, then tries the lowest pids", () => {
    expect(representativeCandidates([40, 900, 1200], 900)).toEqual([900, 40, 1200]);
    expect(representativeCandidates([40, 900, 1200], 777)).toEqual([40, 900, 1200]);
    expect(representativeCandidates([40, 41, 42, 43, 900], undefined)).toEqual([40, 41, 42]);
  });
});

describe("NetnsAttributor after a PID wrap", () => {
  it("keeps the pod while its representative lives, though a lower pid appeared and exited", async () => {
    await addProcess(900, POD_NETNS, kubepods(POD_UID)); // the pod's sandbox, started before the wrap
    const a = await attributor();
    await a.refresh();
    expect(a.ownerOf(POD_NETNS)).toMatchObject({ kind: "pod", name: "client" });
    await addProcess(12, POD_NETNS, null); // a short process after the wrap: gone before its cgroup is read
    await a.refresh();
    expect(a.ownerOf(POD_NETNS)).toMatchObject({ kind: "pod", name: "client" });
    expect(a.handles().get(POD_NETNS)).toEqual(processHandle(900));
  });

  it("never downgrades a known pod when the processes read exited between the scan and the read", async () => {
    await addProcess(900, POD_NETNS, kubepods(POD_UID));
    const a = await attributor();
    await a.refresh();
    await exit(900); // the sandbox's pid went (a container restart) and only vanishing processes are left
    await addProcess(12, POD_NETNS, null);
    await addProcess(13, POD_NETNS, null);
    await a.refresh();
    expect(a.ownerOf(POD_NETNS)).toMatchObject({ kind: "pod", name: "client" });
    expect(a.reported()).toContain(POD_NETNS);
  });

  it("reads the next process when the lowest one exited, and takes a live one as the netns's handle", async () => {
    await addProcess(12, POD_NETNS, null); // exited between scan and read, never known before
    await addProcess(950, POD_NETNS, kubepods(POD_UID));
    const a = await attributor();
    await a.refresh();
    expect(a.ownerOf(POD_NETNS)).toMatchObject({ kind: "pod", name: "client" });
    expect(a.handles().get(POD_NETNS)).toEqual(processHandle(950));
  });

  it("does not take a host tool that entered the netns (nsenter … ss, in the agent's cgroup) as its owner", async () => {
    await addProcess(900, POD_NETNS, kubepods(POD_UID));
    const a = await attributor();
    await a.refresh();
    await exit(900);
    await addProcess(15, POD_NETNS, kubepods(AGENT_UID)); // the agent's `ss`, a hostNetwork pod's process
    await a.refresh();
    expect(a.ownerOf(POD_NETNS)).toMatchObject({ kind: "pod", name: "client" });
  });
});
