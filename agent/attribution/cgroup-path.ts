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
    const ref = parseKubepodsPath(pathOfLine(line));
    if (ref) return ref;
  }
  return null;
}

/** The path of a /proc/<pid>/cgroup line (`hierarchy-id:controllers:path`). */
function pathOfLine(line: string): string {
  return line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
}

/** /proc/<pid>/cgroup's text; "" when the process is gone. */
export function readProcCgroupText(procRoot: string, pid: number): Promise<string> {
  return readFile(`${procRoot}/${pid}/cgroup`, "utf8").catch(() => "");
}

// Container runtimes' scopes outside Kubernetes: systemd driver docker-<id>.scope, libpod-<id>.scope (podman),
// cri-containerd-<id>.scope, crio-<id>.scope; cgroupfs driver /docker/<id>, /libpod_parent/libpod-<id>.
const RUNTIME_SCOPE = /(?:^|\/)(docker|libpod|cri-containerd|crio)-([0-9a-f]{64})(?:\.scope)?(?:\/|$)/;
const CGROUPFS_DOCKER = /(?:^|\/)docker\/([0-9a-f]{64})(?:\/|$)/;

/** "docker-3f2a1b9c0d12" (runtime and short id) for a process in a container runtime's cgroup, else null. */
export function containerNameOf(procCgroupText: string): string | null {
  for (const line of procCgroupText.split("\n")) {
    const path = pathOfLine(line);
    const scope = RUNTIME_SCOPE.exec(path);
    if (scope) return `${scope[1] === "libpod" ? "podman" : scope[1]}-${(scope[2] as string).slice(0, 12)}`;
    const docker = CGROUPFS_DOCKER.exec(path);
    if (docker) return `docker-${(docker[1] as string).slice(0, 12)}`;
  }
  return null;
}
