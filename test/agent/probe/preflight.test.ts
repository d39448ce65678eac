import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseBpftraceVersion, parseEffectiveCapabilities } from "../../../agent/probe/preflight.js";

const fixture = (path: string) => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), "utf8");
const CAP_SYS_ADMIN = 1n << 21n;

describe("parseBpftraceVersion", () => {
  it("reads what this machine's bpftrace --version printed", () => {
    const printed = (JSON.parse(fixture("bpftrace/capture.json")) as { bpftrace: string }).bpftrace;
    expect(printed).toBe("bpftrace v0.17.0");
    expect(parseBpftraceVersion(printed)).toEqual([0, 17, 0]);
  });

  it.each([
    ["bpftrace v0.20.4", [0, 20, 4]],
    ["bpftrace v0.19.1-1-gd8a4a0f", [0, 19, 1]],
    ["bpftrace v0.21.2 (Ubuntu 0.21.2-2ubuntu1)", [0, 21, 2]],
    ["bpftrace 0.9", [0, 9, 0]],
    ["bpftrace v1.0.0", [1, 0, 0]],
  ])("reads %j as %j", (text, version) => {
    expect(parseBpftraceVersion(text)).toEqual(version);
  });

  it("returns null when there is no version", () => {
    expect(parseBpftraceVersion("bpftrace")).toBeNull();
    expect(parseBpftraceVersion("")).toBeNull();
  });
});

describe("parseEffectiveCapabilities", () => {
  /* /proc/self/status of root here, and of root after `capsh --drop=cap_sys_admin` (fixtures/proc/capture.sh). */
  const root = parseEffectiveCapabilities(fixture("proc/status-root.txt"));
  const dropped = parseEffectiveCapabilities(fixture("proc/status-no-cap-sys-admin.txt"));

  it("sees CAP_SYS_ADMIN in a root process's real status", () => {
    expect(root).not.toBeNull();
    expect((root as bigint) & CAP_SYS_ADMIN).toBe(CAP_SYS_ADMIN);
  });

  it("sees exactly CAP_SYS_ADMIN missing after it was dropped", () => {
    expect((dropped as bigint) & CAP_SYS_ADMIN).toBe(0n);
    expect((root as bigint) ^ (dropped as bigint)).toBe(CAP_SYS_ADMIN);
  });

  it("reads the effective set, not the permitted or bounding one", () => {
    const status =
      "CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000200000\nCapBnd:\t000001ffffffffff\n";
    expect(parseEffectiveCapabilities(status)).toBe(CAP_SYS_ADMIN);
  });

  it("returns null when the status has no CapEff line", () => {
    expect(parseEffectiveCapabilities("Name:\tnode\nState:\tR (running)\n")).toBeNull();
  });
});
