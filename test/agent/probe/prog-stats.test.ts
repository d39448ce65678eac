import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseProgFdinfo } from "../../../agent/probe/prog-stats.js";

/* Verbatim /proc/<pid>/fdinfo/<fd> of a running bpftrace 0.17 (transitions.bt) on this machine's kernel. */
const proc = (name: string) => readFileSync(new URL(`../../fixtures/proc/${name}`, import.meta.url), "utf8");
const progFdinfo = proc("bpf-prog-fdinfo.txt");
const mapFdinfo = proc("bpf-map-fdinfo.txt");

describe("parseProgFdinfo", () => {
  it("reads a real tracepoint program's fdinfo: type 5 and its recursion misses", () => {
    expect(parseProgFdinfo(progFdinfo)).toEqual({ progType: 5, recursionMisses: 0 });
  });

  it("reads a non-zero recursion_misses count", () => {
    const missed = progFdinfo.replace(/^recursion_misses:\s*\d+$/m, "recursion_misses:\t113");
    expect(missed).not.toBe(progFdinfo);
    expect(parseProgFdinfo(missed)).toEqual({ progType: 5, recursionMisses: 113 });
  });

  it("reads 0 misses from a kernel older than 5.12, which has no recursion_misses line", () => {
    const old = progFdinfo.replace(/^recursion_misses:.*\n/m, "");
    expect(old).not.toContain("recursion_misses");
    expect(parseProgFdinfo(old)).toEqual({ progType: 5, recursionMisses: 0 });
  });

  it("returns null for a real BPF map fd and for an ordinary file", () => {
    expect(parseProgFdinfo(mapFdinfo)).toBeNull();
    expect(parseProgFdinfo("pos:\t0\nflags:\t0100000\nmnt_id:\t25\nino:\t1234\n")).toBeNull();
  });

  it("does not take a prog_type mentioned inside another field for the program type", () => {
    expect(parseProgFdinfo("name:\tprog_type: 5\n")).toBeNull();
  });
});
