import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  parseProcNetCounters,
  parseSockstat,
  parseSockstat6Inuse,
  pickNetnsCounters,
} from "../../../agent/gauges/proc-counters.js";
import { NETNS_COUNTERS, type NetnsCounterName } from "../../../agent/wire/gauges.js";

/*
 * Fixtures under test/fixtures/proc-counters are verbatim copies of this machine's /proc/self/net/{sockstat,
 * sockstat6,snmp,netstat} (test/fixtures/proc-counters/capture.sh); test/fixtures/ss/netns-*.txt are the same
 * files of the namespace ss-Htan.txt was captured in (test/fixtures/ss/capture.sh).
 */
const fixture = (path: string) => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), "utf8");
const sockstat = fixture("proc-counters/sockstat.txt");
const sockstat6 = fixture("proc-counters/sockstat6.txt");
const snmp = fixture("proc-counters/snmp.txt");
const netstat = fixture("proc-counters/netstat.txt");
const netnsSockstat = fixture("ss/netns-sockstat.txt");

/** The `TCP:` line's value after `name`, read with a regular expression (not the way the module reads it). */
function sockstatField(text: string, name: string): number {
  const m = new RegExp(`^TCP:.*\\b${name} (\\d+)`, "m").exec(text);
  if (!m) throw new Error(`no ${name} on the TCP line`);
  return Number(m[1]);
}

/**
 * `Prefix.Name`'s value, read independently: the first line `Prefix: …` names the columns, the second holds
 * the values.
 */
function counterField(text: string, prefix: string, name: string): number {
  const [names, values] = text.split("\n").filter((l) => l.startsWith(`${prefix}: `));
  const column = (names as string).split(" ").indexOf(name);
  if (column < 1) throw new Error(`no ${prefix}.${name}`);
  return Number((values as string).split(" ")[column]);
}

describe("parseSockstat: this netns's TCP socket counts", () => {
  it("reads inuse, orphan and tw from the host's sockstat", () => {
    expect(parseSockstat(sockstat)).toEqual({
      inuse: sockstatField(sockstat, "inuse"),
      orphan: sockstatField(sockstat, "orphan"),
      tw: sockstatField(sockstat, "tw"),
    });
  });

  it("reads the counts of the namespace ss-Htan.txt came from", () => {
    expect(parseSockstat(netnsSockstat)).toEqual({
      inuse: sockstatField(netnsSockstat, "inuse"),
      orphan: sockstatField(netnsSockstat, "orphan"),
      tw: sockstatField(netnsSockstat, "tw"),
    });
  });

  it("ignores the fields it does not report (alloc, mem)", () => {
    expect(Object.keys(parseSockstat(sockstat) ?? {}).sort()).toEqual(["inuse", "orphan", "tw"]);
  });

  it("returns null for sockstat6, which has a TCP6 line and no TCP line", () => {
    expect(sockstat6).toMatch(/^TCP6: /m);
    expect(parseSockstat(sockstat6)).toBeNull();
  });

  it("returns null for an empty file", () => {
    expect(parseSockstat("")).toBeNull();
  });

  it("reads sockstat6's TCP6 inuse (IPv6 full sockets, which sockstat's inuse leaves out)", () => {
    expect(parseSockstat6Inuse(sockstat6)).toBe(0);
    expect(parseSockstat6Inuse(sockstat6.replace("TCP6: inuse 0", "TCP6: inuse 42"))).toBe(42);
    expect(parseSockstat6Inuse(sockstat)).toBeNull();
  });

  it.each([
    ["without tw", "TCP: inuse 2 orphan 0 alloc 3 mem 1\n"],
    ["without orphan", "TCP: inuse 2 tw 1 alloc 3 mem 1\n"],
    ["with a value that is not a number", "TCP: inuse x orphan 0 tw 1 alloc 3 mem 1\n"],
    ["with a field name last and no value", "TCP: inuse 2 orphan 0 tw\n"],
  ])("returns null for a TCP line %s", (_what, text) => {
    expect(parseSockstat(text)).toBeNull();
  });

  it("reads the fields in whatever order they come", () => {
    expect(parseSockstat("TCP: tw 4 alloc 9 orphan 1 inuse 7\n")).toEqual({ inuse: 7, orphan: 1, tw: 4 });
  });
});

describe("parseProcNetCounters: Prefix.Name → value from snmp and netstat", () => {
  const values = parseProcNetCounters(`${snmp}\n${netstat}`, ["Tcp", "TcpExt"]);

  it.each([
    ["Tcp", "ActiveOpens"],
    ["Tcp", "PassiveOpens"],
    ["Tcp", "InSegs"],
    ["Tcp", "OutSegs"],
    ["Tcp", "OutRsts"],
    ["Tcp", "MaxConn"],
  ])("reads %s.%s from snmp as the fixture shows it", (prefix, name) => {
    expect(values.get(`${prefix}.${name}`)).toBe(counterField(snmp, prefix, name));
  });

  it.each([
    ["TcpExt", "TW"],
    ["TcpExt", "DelayedACKs"],
    ["TcpExt", "TCPPureAcks"],
    ["TcpExt", "ListenOverflows"],
    ["TcpExt", "TCPReqQFullDrop"],
  ])("reads %s.%s from netstat as the fixture shows it", (prefix, name) => {
    expect(values.get(`${prefix}.${name}`)).toBe(counterField(netstat, prefix, name));
  });

  it("reads MaxConn's -1 (no limit) as a negative number", () => {
    expect(values.get("Tcp.MaxConn")).toBe(-1);
  });

  it("reads every column of the asked prefixes, and nothing of the others (Ip, Udp, IpExt, MPTcpExt)", () => {
    const columns = (text: string, prefix: string) =>
      (text.split("\n").find((l) => l.startsWith(`${prefix}: `)) as string).split(" ").length - 1;
    expect(values.size).toBe(columns(snmp, "Tcp") + columns(netstat, "TcpExt"));
    expect([...values.keys()].every((k) => k.startsWith("Tcp.") || k.startsWith("TcpExt."))).toBe(true);
  });

  it("keeps Tcp and TcpExt apart though one prefix begins the other", () => {
    const tcpOnly = parseProcNetCounters(snmp + netstat, ["Tcp"]);
    expect([...tcpOnly.keys()].every((k) => k.startsWith("Tcp.") && !k.startsWith("TcpExt."))).toBe(true);
    expect(tcpOnly.get("Tcp.InSegs")).toBe(counterField(snmp, "Tcp", "InSegs"));
  });

  it("reads the same values from the two files in either order", () => {
    expect(parseProcNetCounters(`${netstat}\n${snmp}`, ["Tcp", "TcpExt"])).toEqual(values);
  });

  it("returns an empty map when no prefix is asked for, or the text has none of them", () => {
    expect(parseProcNetCounters(snmp, []).size).toBe(0);
    expect(parseProcNetCounters(snmp, ["TcpExt"]).size).toBe(0);
    expect(parseProcNetCounters("", ["Tcp"]).size).toBe(0);
  });

  it("skips a names line whose next line is not that prefix's values", () => {
    const text = "Tcp: ActiveOpens PassiveOpens\nUdp: 1 2\nTcpExt: TW\nTcpExt: 9\n";
    expect(parseProcNetCounters(text, ["Tcp", "TcpExt"])).toEqual(new Map([["TcpExt.TW", 9]]));
  });
});

describe("pickNetnsCounters: the counters tcpstate reports, by their names", () => {
  const values = parseProcNetCounters(`${snmp}\n${netstat}`, ["Tcp", "TcpExt"]);

  it("maps every NETNS_COUNTERS name to its snmp or netstat value", () => {
    const picked = pickNetnsCounters(values);
    for (const [name, key] of Object.entries(NETNS_COUNTERS)) {
      const [prefix, column] = key.split(".") as [string, string];
      const text = prefix === "Tcp" ? snmp : netstat;
      expect(picked[name as NetnsCounterName], key).toBe(counterField(text, prefix, column));
    }
  });

  it("finds every counter it reports in this kernel's files", () => {
    for (const key of Object.values(NETNS_COUNTERS)) expect(values.has(key), key).toBe(true);
  });

  it("reports exactly the NETNS_COUNTERS names", () => {
    expect(Object.keys(pickNetnsCounters(values)).sort()).toEqual(Object.keys(NETNS_COUNTERS).sort());
  });

  it("reads counters by name: in_segs and listen_overflows", () => {
    const picked = pickNetnsCounters(
      new Map([
        ["Tcp.InSegs", 72],
        ["TcpExt.ListenOverflows", 3],
      ]),
    );
    expect(picked.in_segs).toBe(72);
    expect(picked.listen_overflows).toBe(3);
  });

  it("reports a counter missing from the files as 0", () => {
    const picked = pickNetnsCounters(new Map([["Tcp.InSegs", 72]]));
    const others = Object.entries(picked).filter(([name]) => name !== "in_segs");
    expect(others.every(([, v]) => v === 0)).toBe(true);
    expect(pickNetnsCounters(new Map())).toEqual(
      Object.fromEntries(Object.keys(NETNS_COUNTERS).map((name) => [name, 0])),
    );
  });

  it("reports 0 for a netns counter whose file lacks TcpExt (snmp alone)", () => {
    const picked = pickNetnsCounters(parseProcNetCounters(snmp, ["Tcp", "TcpExt"]));
    expect(picked.syncookies_sent).toBe(0);
    expect(picked.listen_drops).toBe(0);
    expect(picked.out_segs).toBe(counterField(snmp, "Tcp", "OutSegs"));
  });
});
