import { readdir, stat } from "node:fs/promises";
import { type CgroupPodRef, parseKubepodsPath } from "./cgroup-path.js";

interface PodCgroup extends CgroupPodRef {
  /** The cgroup's directory under the cgroup v2 mount. */
  dir: string;
}

const RESCAN_MIN_INTERVAL_MS = 5000;

/**
 * cgroup id → pod. A socket's cgroup id (`sk_cgrp_data.cgroup->kn->id`) is the inode of its cgroup's
 * directory under the cgroup v2 mount, so a walk of the kubepods subtree maps ids to kubepods paths, which name
 * the pod UID. This is how sockets of hostNetwork pods, which share the host netns, find their pod.
 */
export class CgroupIndex {
  private byId = new Map<number, PodCgroup>();
  private lastScan = 0;

  constructor(
    private readonly root: string,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Walks the kubepods subtree (only directories on the way to kubepods: the rest of the tree is not pods). */
  async scan(): Promise<void> {
    const next = new Map<number, PodCgroup>();
    const walk = async (dir: string, underKubepods: boolean): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return; // removed while walking
      }
      await Promise.all(
        entries
          .filter((e) => e.isDirectory() && (underKubepods || /kubepods|kubelet/.test(e.name)))
          .map(async (e) => {
            const path = `${dir}/${e.name}`;
            const ref = parseKubepodsPath(path.slice(this.root.length));
            if (ref) {
              try {
                next.set((await stat(path)).ino, { ...ref, dir: path });
              } catch {
                return;
              }
            }
            await walk(path, underKubepods || e.name.includes("kubepods"));
          }),
      );
    };
    await walk(this.root, false);
    this.byId = next;
    this.lastScan = this.clock();
  }

  /** The pod a cgroup id belongs to; rescans (at most every 5 s) when the id is new. */
  async lookup(cgroupId: number): Promise<PodCgroup | null> {
    const hit = this.byId.get(cgroupId);
    if (hit || this.clock() - this.lastScan < RESCAN_MIN_INTERVAL_MS) return hit ?? null;
    await this.scan();
    return this.byId.get(cgroupId) ?? null;
  }

  /** Pod cgroups (pod slices and container scopes) found by the last scan. */
  get size(): number {
    return this.byId.size;
  }

  /** Cached answer only (no I/O), for hot paths; null when unknown. */
  peek(cgroupId: number): PodCgroup | null {
    return this.byId.get(cgroupId) ?? null;
  }

  /** The cgroup directories of a pod (its pod slice and container scopes). */
  dirsOf(podUid: string): string[] {
    const dirs: string[] = [];
    for (const c of this.byId.values()) if (c.podUid === podUid) dirs.push(c.dir);
    return dirs;
  }
}
