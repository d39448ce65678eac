/**
 * A "hostNetwork pod" for kernel tests: a cgroup made under the cgroup v2 mount the way kubelet (systemd
 * driver) and containerd name them, with processes moved into it, in the host netns.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rmdir } from "node:fs/promises";

// Test pods' UIDs start with this, so leftovers of earlier runs are recognisable.
const UID_STEM = "7e57";

export async function cgroup2Root(): Promise<string> {
  for (const line of (await readFile("/proc/self/mounts", "utf8")).split("\n")) {
    const f = line.split(" ");
    if (f[2] === "cgroup2" && f[1]) return f[1];
  }
  throw new Error("no cgroup v2 mount in /proc/self/mounts");
}

export interface HostPod {
  uid: string;
  /** The container scope's directory: processes go here. */
  scope: string;
  /** Starts argv inside the pod's cgroup (moved there before it execs, so every socket it makes is the pod's). */
  spawn(argv: string[]): ChildProcess;
  destroy(): Promise<void>;
}

async function killAndRemove(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    const procs = await readFile(`${dir}/cgroup.procs`, "utf8").catch(() => "");
    for (const pid of procs.split("\n").filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone already
      }
    }
  }
  for (const dir of dirs) {
    for (let i = 0; i < 50; i++) {
      try {
        await rmdir(dir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") break;
        await new Promise((r) => setTimeout(r, 100)); // EBUSY until the killed processes are reaped
      }
    }
  }
}

export async function createHostPod(): Promise<HostPod> {
  const root = await cgroup2Root();
  const qos = `${root}/kubepods.slice/kubepods-besteffort.slice`;
  await mkdir(qos, { recursive: true });
  // Leftovers of earlier runs (their processes are gone with their test runner, or are killed here).
  for (const name of await readdir(qos)) {
    if (!name.startsWith(`kubepods-besteffort-pod${UID_STEM}`)) continue;
    const podDir = `${qos}/${name}`;
    const scopes = (await readdir(podDir, { withFileTypes: true })).filter((e) => e.isDirectory());
    await killAndRemove([...scopes.map((e) => `${podDir}/${e.name}`), podDir]);
  }
  const hex = randomBytes(14).toString("hex");
  const uid = `${UID_STEM}${hex.slice(0, 4)}-${hex.slice(4, 8)}-4${hex.slice(8, 11)}-8${hex.slice(11, 14)}-${hex.slice(14, 26)}`;
  const podDir = `${qos}/kubepods-besteffort-pod${uid.replaceAll("-", "_")}.slice`;
  const scope = `${podDir}/cri-containerd-${randomBytes(32).toString("hex")}.scope`;
  await mkdir(scope, { recursive: true });
  const children: ChildProcess[] = [];
  return {
    uid,
    scope,
    spawn(argv) {
      const child = spawn("sh", ["-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, scope, ...argv], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      return child;
    },
    async destroy() {
      for (const c of children) c.kill("SIGKILL");
      await killAndRemove([scope, podDir]);
    },
  };
}
