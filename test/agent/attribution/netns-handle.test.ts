import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NetnsAttributor } from "../../../agent/attribution/netns-attributor.js";
import { bindMountHandle, netnsFileOf, processHandle } from "../../../agent/attribution/netns-handle.js";

let root: string;
let procRoot: string;
let netnsDir: string;

/** A process `pid` in netns `inode`: /proc/<pid>/ns/net reads `net:[inode]` (a dangling link reads the same). */
async function addProcess(pid: number, inode: number): Promise<void> {
  await mkdir(join(procRoot, String(pid), "ns"), { recursive: true });
  await symlink(`net:[${inode}]`, join(procRoot, String(pid), "ns", "net"));
}

/** A named netns: a file under the netns dir, whose inode stands for the netns's (a bind mount's is). */
async function addNamed(name: string): Promise<number> {
  await writeFile(join(netnsDir, name), "");
  return (await stat(join(netnsDir, name))).ino;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "netns-handle-"));
  procRoot = join(root, "proc");
  netnsDir = join(root, "netns");
  await mkdir(procRoot);
  await mkdir(netnsDir);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("netnsFileOf", () => {
  it("enters a netns through its process's ns link, or through its bind mount", () => {
    expect(netnsFileOf("/host/proc", processHandle(42))).toBe("/host/proc/42/ns/net");
    expect(netnsFileOf("/host/proc", bindMountHandle("/var/run/netns/blue"))).toBe("/var/run/netns/blue");
  });
});

describe("NetnsAttributor.handles", () => {
  it("reads a named netns with no process through its bind mount, every other netns through a process", async () => {
    await addProcess(1, 4026531840); // the host
    const empty = await addNamed("empty");
    const busy = await addNamed("busy");
    await addProcess(300, busy);
    await addProcess(200, busy); // the lowest pid is the one kept
    await addProcess(400, 4026532999); // an unnamed netns with a process
    const attributor = new NetnsAttributor({ procRoot, netnsDir, pods: null, cgroups: null });
    await attributor.refresh();
    expect(new Map(attributor.handles())).toEqual(
      new Map([
        [4026531840, processHandle(1)],
        [busy, processHandle(200)],
        [4026532999, processHandle(400)],
        [empty, bindMountHandle(join(netnsDir, "empty"))],
      ]),
    );
    // Standalone reports named netns: the processless one is among them, so its gauges are read.
    expect(attributor.reported()).toContain(empty);
    expect(attributor.ownerOf(empty)).toEqual({ kind: "netns", name: "empty" });
  });

  it("forgets a named netns once its bind mount is removed", async () => {
    const gone = await addNamed("gone");
    const attributor = new NetnsAttributor({ procRoot, netnsDir, pods: null, cgroups: null });
    await attributor.refresh();
    expect(attributor.handles().has(gone)).toBe(true);
    await rm(join(netnsDir, "gone"));
    await attributor.refresh();
    expect(attributor.handles().has(gone)).toBe(false);
  });
});
