import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { CgroupIndex } from "./cgroup-index.js";

/**
 * The cgroup v2 mount points of a mountinfo file (`36 25 0:30 / /sys/fs/cgroup/unified rw,… - cgroup2 cgroup2
 * rw`): field 5 is the mount point (octal escapes for spaces and the like), the type follows the ` - `.
 */
export function parseCgroup2MountPoints(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0 || line.slice(sep + 3).split(" ")[0] !== "cgroup2") continue;
    const point = line.slice(0, sep).split(" ")[4];
    if (point)
      out.push(point.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
  }
  return out;
}

export interface Cgroup2Mounts {
  /** --cgroup-root: where the host's cgroup tree (or its cgroup v2 mount) is seen by the agent. */
  configured: string | undefined;
  /** cgroup2 mount points in the host's mount namespace (its init's mountinfo under the proc root). */
  host: readonly string[];
  /** cgroup2 mount points the agent itself sees. */
  self: readonly string[];
}

/**
 * Where the cgroup v2 tree may be, most likely first. A configured root that is the host's /sys/fs/cgroup on a
 * hybrid host (cgroup2 at /sys/fs/cgroup/unified, v1 controllers beside it) holds no cgroup v2 tree itself: the
 * host's cgroup2 mount is looked for under it (the host path's tail matched against the configured path,
 * `/host/sys/fs/cgroup` + `/sys/fs/cgroup/unified` → `/host/sys/fs/cgroup/unified`), then systemd's hybrid
 * place, then the agent's own mounts. Without a configured root: the agent's own mounts first (as before).
 */
export function cgroup2Candidates(mounts: Cgroup2Mounts): string[] {
  const out: string[] = [];
  const { configured } = mounts;
  if (configured) {
    const root = configured.replace(/\/+$/, "") || "/";
    out.push(root);
    for (const point of mounts.host) {
      for (let at = point; at !== "/" && at !== "."; at = path.posix.dirname(at))
        if (root === at || root.endsWith(at)) out.push(root + point.slice(at.length));
    }
    out.push(path.posix.join(root, "unified"));
  } else out.push(...mounts.self, ...mounts.host);
  out.push(...mounts.self);
  return [...new Set(out)];
}

export type Cgroup2Choice =
  | { kind: "found"; root: string; index: CgroupIndex; podCgroups: number }
  /** cgroup v2 trees, but no pod cgroups in any: the first is used (pods may come), and that is said. */
  | { kind: "no-pods"; root: string; index: CgroupIndex; tried: string[] }
  | { kind: "none"; tried: string[] };

const isCgroup2Dir = (dir: string) =>
  access(`${dir}/cgroup.controllers`).then(
    () => true,
    () => false,
  );

const readMountPoints = (file: string) =>
  readFile(file, "utf8").then(parseCgroup2MountPoints, () => [] as string[]);

/**
 * Finds the cgroup v2 tree whose kubepods cgroups name the pods of hostNetwork sockets: the first candidate
 * that is a cgroup v2 directory and holds pod cgroups, else the first cgroup v2 directory.
 */
export async function chooseCgroup2Root(opts: {
  configured: string | undefined;
  procRoot: string;
  selfProc: string;
}): Promise<Cgroup2Choice> {
  const candidates = cgroup2Candidates({
    configured: opts.configured,
    host: await readMountPoints(`${opts.procRoot}/1/mountinfo`),
    self: await readMountPoints(`${opts.selfProc}/self/mountinfo`),
  });
  let empty: { root: string; index: CgroupIndex } | null = null;
  for (const root of candidates) {
    if (!(await isCgroup2Dir(root))) continue;
    const index = new CgroupIndex(root);
    await index.scan();
    if (index.size > 0) return { kind: "found", root, index, podCgroups: index.size };
    empty ??= { root, index };
  }
  return empty ? { kind: "no-pods", ...empty, tried: candidates } : { kind: "none", tried: candidates };
}
