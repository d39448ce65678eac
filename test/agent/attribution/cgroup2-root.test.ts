/**
 * On a hybrid-cgroup host the configured cgroup root (the host's /sys/fs/cgroup, mounted at
 * /host/sys/fs/cgroup by the chart) holds v1 controllers only; the cgroup v2 tree is below it, at unified/.
 */
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  cgroup2Candidates,
  chooseCgroup2Root,
  parseCgroup2MountPoints,
} from "../../../agent/attribution/cgroup2-root.js";

const HYBRID = readFileSync(new URL("../../fixtures/proc/hybrid-mountinfo.txt", import.meta.url), "utf8");
const POD_UID = "0b5c9a3e-1f2d-4c6b-9a8e-7d6c5b4a3f21";

describe("parseCgroup2MountPoints", () => {
  it("finds a hybrid host's cgroup2 mount among its v1 controllers (verbatim mountinfo)", () => {
    expect(parseCgroup2MountPoints(HYBRID)).toEqual(["/sys/fs/cgroup/unified"]);
  });

  it("reads a unified host's mount and unescapes octal escapes in the mount point", () => {
    expect(
      parseCgroup2MountPoints(
        "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n" +
          "40 23 0:27 / /mnt/a\\040b rw shared:9 - cgroup2 none rw\n" +
          "41 23 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n",
      ),
    ).toEqual(["/sys/fs/cgroup", "/mnt/a b"]);
  });
});

describe("cgroup2Candidates", () => {
  it("maps the host's cgroup2 mount below the configured host path first", () => {
    expect(
      cgroup2Candidates({
        configured: "/host/sys/fs/cgroup",
        host: parseCgroup2MountPoints(HYBRID),
        self: ["/sys/fs/cgroup"],
      }),
    ).toEqual(["/host/sys/fs/cgroup", "/host/sys/fs/cgroup/unified", "/sys/fs/cgroup"]);
  });

  it("without a configured root, tries the agent's own cgroup2 mounts, then the host's", () => {
    expect(cgroup2Candidates({ configured: undefined, host: ["/a"], self: ["/b", "/a"] })).toEqual([
      "/b",
      "/a",
    ]);
  });
});

describe("chooseCgroup2Root", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "cgroup2-root-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A hybrid host as the agent sees it: /host/proc/1/mountinfo and /host/sys/fs/cgroup with unified/ below. */
  async function hybridHost(withPod: boolean): Promise<{ procRoot: string; cgroupRoot: string }> {
    const procRoot = join(root, "host/proc");
    await mkdir(join(procRoot, "1"), { recursive: true });
    await writeFile(join(procRoot, "1/mountinfo"), HYBRID);
    const cgroupRoot = join(root, "host/sys/fs/cgroup");
    await mkdir(join(cgroupRoot, "memory/kubepods"), { recursive: true }); // v1: no cgroup.controllers
    await mkdir(join(cgroupRoot, "unified"), { recursive: true });
    await writeFile(join(cgroupRoot, "unified/cgroup.controllers"), "");
    if (withPod)
      await mkdir(join(cgroupRoot, `unified/kubepods/besteffort/pod${POD_UID}`), { recursive: true });
    return { procRoot, cgroupRoot };
  }

  it("finds the pods' cgroups in the cgroup2 mount below a configured hybrid root", async () => {
    const { procRoot, cgroupRoot } = await hybridHost(true);
    const choice = await chooseCgroup2Root({
      configured: cgroupRoot,
      procRoot,
      selfProc: join(root, "none"),
    });
    expect(choice).toMatchObject({ kind: "found", root: join(cgroupRoot, "unified"), podCgroups: 1 });
    if (choice.kind !== "found") throw new Error("unreachable");
    expect(choice.index.dirsOf(POD_UID)).toEqual([
      join(cgroupRoot, `unified/kubepods/besteffort/pod${POD_UID}`),
    ]);
  });

  it("says when no cgroup2 tree holds pods, and when there is none", async () => {
    const { procRoot, cgroupRoot } = await hybridHost(false);
    expect(
      await chooseCgroup2Root({ configured: cgroupRoot, procRoot, selfProc: join(root, "none") }),
    ).toMatchObject({
      kind: "no-pods",
      root: join(cgroupRoot, "unified"),
    });
    await rm(join(cgroupRoot, "unified"), { recursive: true });
    expect(
      await chooseCgroup2Root({ configured: cgroupRoot, procRoot, selfProc: join(root, "none") }),
    ).toMatchObject({
      kind: "none",
    });
  });
});
