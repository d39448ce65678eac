import { readFile } from "node:fs/promises";

/** What a kubepods cgroup path says about its owner. */
export interface CgroupPodRef {
  podUid: string;
  containerId: string | null;
}

// systemd driver: kubepods-besteffort-pod<uid with _>.slice/cri-containerd-<id>.scope (crio-, docker- too);
// cgroupfs driver: /kubepods/besteffort/pod<uid>/<id>; a kubelet cgroup root prefixes the slices
// (kind: kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort-pod<uid>.slice).
const POD_SEGMENT =
  /^(?:[a-z0-9]+(?:-[a-z0-9]+)*-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;
const CONTAINER_SEGMENT = /^(?:(?:cri-containerd|crio|docker|cri-o)-)?([0-9a-f]{64})(?:\.scope)?$/;

/** Pod UID and container id from one cgroup path, or null when it is no pod's. */
export function parseKubepodsPath(path: string): CgroupPodRef | null {
  if (!path.includes("kubepods")) return null;
  let podUid: string | null = null;
  let containerId: string | null = null;
  for (const segment of path.split("/")) {
    const pod = POD_SEGMENT.exec(segment);
    if (pod) {
      podUid = (pod[1] as string).replaceAll("_", "-");
      continue;
    }
    const container = podUid ? CONTAINER_SEGMENT.exec(segment) : null;
    if (container) containerId = container[1] as string;
  }
  return podUid ? { podUid, containerId } : null;
}

/**
 * The pod of a process from /proc/<pid>/cgroup: the cgroup v2 line (`0::/path`) first, then any v1 line
 * (hybrid and v1 nodes put kubepods paths in the controller hierarchies).
 */
export function parseProcCgroup(text: string): CgroupPodRef | null {
  const lines = text.split("\n").filter(Boolean);
  const ordered = [...lines.filter((l) => l.startsWith("0::")), ...lines.filter((l) => !l.startsWith("0::"))];
  for (const line of ordered) {
    const path = line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
    const ref = parseKubepodsPath(path);
    if (ref) return ref;
  }
  return null;
}

export async function readProcCgroup(procRoot: string, pid: number): Promise<CgroupPodRef | null> {
  try {
    return parseProcCgroup(await readFile(`${procRoot}/${pid}/cgroup`, "utf8"));
  } catch {
    return null;
  }
}
