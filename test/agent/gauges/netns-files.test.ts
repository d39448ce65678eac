import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { processHandle } from "../../../agent/attribution/netns-handle.js";
import { parseTailVerbose, readNetnsFiles } from "../../../agent/gauges/netns-files.js";

const SOCKSTAT = "sockets: used 11\nTCP: inuse 1 orphan 0 tw 7 alloc 1 mem 0\nUDP: inuse 0 mem 0\n";
const SOCKSTAT6 = "TCP6: inuse 0\nUDP6: inuse 0\n";

describe("parseTailVerbose", () => {
  it("splits `tail -v -n +1` output into each file's exact text, by base name", () => {
    // Verbatim GNU tail output for two /proc/self/net files.
    const out = `==> /proc/self/net/sockstat <==\n${SOCKSTAT}\n==> /proc/self/net/sockstat6 <==\n${SOCKSTAT6}`;
    expect(parseTailVerbose(out)).toEqual(
      new Map([
        ["sockstat", SOCKSTAT],
        ["sockstat6", SOCKSTAT6],
      ]),
    );
  });

  it("has no entry for a file tail could not open, and nothing for empty or foreign output", () => {
    expect([...parseTailVerbose(`==> /proc/self/net/snmp <==\nTcp: A\nTcp: 1\n`).keys()]).toEqual(["snmp"]);
    expect(parseTailVerbose("").size).toBe(0);
    expect(parseTailVerbose("nsenter: cannot open /var/run/netns/x: No such file\n").size).toBe(0);
  });

  it("keeps an empty file empty", () => {
    expect(parseTailVerbose("==> /a/empty <==\n\n==> /a/b <==\nx\n")).toEqual(
      new Map([
        ["empty", ""],
        ["b", "x\n"],
      ]),
    );
  });
});

describe("readNetnsFiles through a process", () => {
  it("reads <procRoot>/<pid>/net/<name>, null for a file that is absent", async () => {
    const procRoot = await mkdtemp(join(tmpdir(), "netns-files-"));
    try {
      await mkdir(join(procRoot, "42", "net"), { recursive: true });
      await writeFile(join(procRoot, "42", "net", "sockstat"), SOCKSTAT);
      expect(await readNetnsFiles(procRoot, processHandle(42), ["sockstat", "sockstat6"])).toEqual([
        SOCKSTAT,
        null,
      ]);
    } finally {
      await rm(procRoot, { recursive: true, force: true });
    }
  });
});
