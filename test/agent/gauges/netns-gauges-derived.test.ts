import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type NetnsHandle, processHandle } from "../../../agent/attribution/netns-handle.js";
import { DRIFT_CHECK_MS, NetnsGaugeReader } from "../../../agent/gauges/netns-gauges.js";
import { parseSsTable } from "../../../agent/gauges/socket-table.js";
import { TransitionLedger } from "../../../agent/gauges/transition-ledger.js";
import { TcpState } from "../../../agent/probe/tcp-state.js";

/*
 * The reader with a transition ledger: full-socket gauges derived from the last adopted table read and the
 * flows since; the table read only when something without a transition asks for it. The fake procRoot holds
 * the fixture's /proc/<pid>/net files (test/fixtures/ss); ticks are driven by hand, one second apart.
 */
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/ss/${name}`, import.meta.url), "utf8");
const sockstat = fixture("netns-sockstat.txt");
const snmp = fixture("netns-snmp.txt");
const netstat = fixture("netns-netstat.txt");
const dropLines = (text: string, state: string) =>
  text
    .split("\n")
    .filter((l) => !l.startsWith(`${state} `))
    .join("\n");
/**
 * The fixture's table with only full sockets (no request socks, TIME_WAIT or FIN_WAIT2 timewait socks) and
 * nothing waiting in an accept queue: a netns where nothing but transitions changes a socket.
 */
const fullOnly = ["SYN-RECV", "TIME-WAIT", "FIN-WAIT-2"]
  .reduce(dropLines, fixture("ss-Htan.txt"))
  .replace(/^LISTEN(\s+)\d+/gm, "LISTEN$10");
const setSockstat = (text: string, name: string, value: number) =>
  text.replace(new RegExp(`^(TCP:.*\\b${name} )\\d+`, "m"), `$1${value}`);
/** Full sockets in `fullOnly`: what sockstat's inuse says there (no sockstat6 file: no IPv6, 0 more). */
const FULL_COUNT = fullOnly.split("\n").filter(Boolean).length;
const withTw = (tw: number) => setSockstat(setSockstat(sockstat, "inuse", FULL_COUNT), "tw", tw);

const { CLOSE, SYN_SENT, ESTABLISHED, LISTEN } = TcpState;
const NS = 4026532001;
const PID = 4242;

let procRoot: string;
beforeEach(async () => {
  procRoot = await mkdtemp(join(tmpdir(), "tcpstate-derived-"));
});
afterEach(async () => {
  await rm(procRoot, { recursive: true, force: true });
});

async function writeNet(pid: number, files: { sockstat?: string; sockstat6?: string; snmp?: string }) {
  const dir = join(procRoot, String(pid), "net");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "sockstat"), files.sockstat ?? withTw(0));
  await writeFile(join(dir, "snmp"), files.snmp ?? snmp);
  await writeFile(join(dir, "netstat"), netstat);
  if (files.sockstat6 !== undefined) await writeFile(join(dir, "sockstat6"), files.sockstat6);
}

/** A reader on a live ledger, its ticks, clocks and tables all in the test's hands. */
function setup(tables: Map<number, string>, optionalReadsPerPass = 1) {
  const ledger = new TransitionLedger();
  ledger.start();
  const time = { us: 10_000_000, ms: 1_700_000_000_000, seq: 0 };
  const readTable = vi.fn(async (_root: string, handle: NetnsHandle, withTimeWait: boolean) => {
    time.us += 20_000; // a read takes 20 ms
    const text = handle.kind === "process" ? tables.get(handle.pid) : undefined;
    return text === undefined ? null : parseSsTable(withTimeWait ? text : dropLines(text, "TIME-WAIT"));
  });
  const reader = new NetnsGaugeReader({
    procRoot,
    concurrency: 2,
    readTable,
    ledger,
    clock: () => time.ms,
    monoUs: () => time.us,
    optionalReadsPerPass,
  });
  /** One kernel tick: its flush with these counts [netns, old, new, count]. */
  const tick = (counts: [number, number, number, number][] = []) => {
    time.us = Math.ceil((time.us + 1) / 1_000_000) * 1_000_000; // the next whole second
    time.seq++;
    ledger.flushBegin(time.seq, time.us, false);
    for (const [inode, o, n, c] of counts) ledger.add(inode, o, n, c);
    ledger.flushEnd(time.seq);
    time.us += 1_000; // the agent sees it a millisecond later
    time.ms += 1000;
  };
  const pass = async (netns = new Map([[NS, processHandle(PID)]]), active = new Set<number>()) =>
    reader.read(netns, active);
  /** Read at first sight, then the ticks around that read are in: it is adopted as the baseline. */
  const baseline = async (netns?: Map<number, NetnsHandle>) => {
    tick();
    await pass(netns);
    tick();
    tick();
    await pass(netns);
  };
  return { ledger, reader, readTable, tick, pass, baseline, time };
}

const full = parseSsTable(fullOnly).gauges;

describe("NetnsGaugeReader with a ledger: derived gauges", () => {
  it("reads at first sight, adopts the read once the ticks around it are in, then derives without reading", async () => {
    await writeNet(PID, {});
    const { reader, readTable, tick, pass } = setup(new Map([[PID, fullOnly]]));
    tick();
    const first = (await pass()).get(NS);
    expect(first?.tableRead).toBe(true);
    expect(first?.sockets).toMatchObject({ ESTABLISHED: full.ESTABLISHED, LISTEN: full.LISTEN });
    tick();
    tick(); // the read's interval is in: quiet, adopted
    // Busy from now on: connections open, segments flow; the table is not read again.
    tick([
      [NS, CLOSE, SYN_SENT, 3],
      [NS, SYN_SENT, ESTABLISHED, 2],
    ]);
    await writeNet(PID, { snmp: snmp.replace(/^(Tcp: (?:\S+ ){10})\d+/m, "$1999999") });
    const busy = (await pass(undefined, new Set([NS]))).get(NS);
    expect(readTable).toHaveBeenCalledTimes(1);
    expect(busy?.tableRead).toBe(false);
    expect(busy?.sockets).toMatchObject({
      ESTABLISHED: full.ESTABLISHED + 2,
      SYN_SENT: full.SYN_SENT + 1,
      LISTEN: full.LISTEN,
    });
    expect(Object.fromEntries(reader.readsByReason)).toEqual({ first: 1 });
  });

  it("reads again when a listener opens, and reports it from that read", async () => {
    await writeNet(PID, {});
    const tables = new Map([[PID, fullOnly]]);
    const { reader, readTable, tick, pass, baseline } = setup(tables);
    await baseline();
    expect(readTable).toHaveBeenCalledTimes(1);
    tick([[NS, CLOSE, LISTEN, 1]]);
    tables.set(PID, `${fullOnly}\nLISTEN 0 4096 0.0.0.0:9999 0.0.0.0:*`);
    const g = (await pass()).get(NS);
    expect(readTable).toHaveBeenCalledTimes(2);
    expect(reader.readsByReason.get("listeners")).toBe(1);
    expect(g?.listeners.map((l) => l.port)).toContain(9999);
    expect(g?.sockets.LISTEN).toBe(full.LISTEN + 1);
    tick();
    await pass();
    expect(readTable).toHaveBeenCalledTimes(2);
  });

  it("keeps reading while request socks are known, and stops once they are gone", async () => {
    await writeNet(PID, {});
    const withRequests = `${fullOnly}\nSYN-RECV 0 0 10.0.0.1:8080 10.0.0.77:1234\nSYN-RECV 0 0 10.0.0.1:8080 10.0.0.77:1235`;
    const tables = new Map([[PID, withRequests]]);
    const { readTable, tick, pass } = setup(tables);
    tick();
    expect((await pass()).get(NS)?.sockets.SYN_RECV).toBe(2);
    tick();
    tick();
    expect((await pass()).get(NS)?.sockets.SYN_RECV).toBe(2);
    tables.set(PID, fullOnly);
    tick();
    expect((await pass()).get(NS)?.sockets.SYN_RECV).toBe(0);
    const reads = readTable.mock.calls.length;
    tick();
    await pass();
    expect(readTable).toHaveBeenCalledTimes(reads);
  });

  it("re-reads, forced, when sockstat's inuse disagrees with the derived total in a quiet interval", async () => {
    const inuse = full.ESTABLISHED + full.LISTEN + full.CLOSE_WAIT + full.FIN_WAIT1 + full.LAST_ACK;
    const v4 = setSockstat(withTw(0), "inuse", 0);
    await writeNet(PID, { sockstat: v4, sockstat6: `TCP6: inuse ${inuse}\nUDP6: inuse 0\n` });
    const { reader, tick, pass, baseline, time } = setup(new Map([[PID, fullOnly]]));
    await baseline();
    await pass(); // its first drift check is taken
    tick();
    tick();
    await pass(); // the check held: no read
    expect(reader.readsByReason.get("drift")).toBeUndefined();
    // A socket appeared that no transition showed (the kernel skipped it): inuse is one more. A quiet netns is
    // checked once every DRIFT_CHECK_MS.
    await writeNet(PID, { sockstat: v4, sockstat6: `TCP6: inuse ${inuse + 1}\n` });
    time.ms += DRIFT_CHECK_MS;
    tick();
    await pass();
    tick();
    tick();
    await pass();
    expect(reader.readsByReason.get("drift")).toBe(1);
  });

  it("re-reads every derived netns after the count stream broke (lost output, a missing flush)", async () => {
    await writeNet(PID, {});
    const { reader, ledger, tick, pass, baseline } = setup(new Map([[PID, fullOnly]]));
    await baseline();
    ledger.breakStream();
    tick();
    const g = (await pass()).get(NS);
    expect(g?.tableRead).toBe(true);
    expect(reader.readsByReason.get("stream-broke")).toBe(1);
  });

  it("reads the table while bpftrace is down (nothing derived), and starts afresh when it is back", async () => {
    await writeNet(PID, {});
    const { reader, ledger, readTable, tick, pass, time, baseline } = setup(new Map([[PID, fullOnly]]));
    await baseline();
    expect(readTable).toHaveBeenCalledTimes(1);
    ledger.stop();
    expect((await pass()).get(NS)?.tableRead).toBe(true); // the last read is old: read it now
    expect((await pass()).get(NS)?.tableRead).toBe(false); // then as before derived gauges: when changed
    ledger.start();
    time.seq = 0;
    tick();
    expect((await pass()).get(NS)?.tableRead).toBe(true);
    expect(reader.readsByReason.get("seek")).toBe(1);
  });

  it("seeks a quiet read at first sight: a busy one is not taken, the table is read until a quiet one is", async () => {
    await writeNet(PID, {});
    const tables = new Map([[PID, fullOnly]]);
    const { reader, readTable, tick, pass } = setup(tables);
    tick();
    await pass(); // first sight
    // A listener opens while the read runs: its 7→10 lands in the read's interval.
    tables.set(PID, `${fullOnly}\nLISTEN 0 4096 0.0.0.0:9999 0.0.0.0:*`);
    tick();
    tick([[NS, CLOSE, LISTEN, 1]]);
    const seeking = (await pass()).get(NS);
    expect(seeking?.tableRead).toBe(true); // not taken: the table is read again (and reported as read)
    expect(seeking?.sockets.LISTEN).toBe(full.LISTEN + 1);
    tick();
    tick(); // that read's interval was quiet: taken
    await pass();
    const reads = readTable.mock.calls.length;
    tick();
    const derived = (await pass()).get(NS);
    expect(derived?.tableRead).toBe(false);
    expect(derived?.sockets.LISTEN).toBe(full.LISTEN + 1); // not 2 more: the busy read was never the baseline
    expect(readTable).toHaveBeenCalledTimes(reads);
    expect(Object.fromEntries(reader.readsByReason)).toEqual({ first: 1, seek: 1 });
  });

  it("does not adopt a busy read that was not forced: the exact baseline stays", async () => {
    await writeNet(PID, {});
    const tables = new Map([[PID, fullOnly]]);
    const { tick, pass, baseline } = setup(tables);
    await baseline();
    // A listener opens (a read follows), and connections run in the interval the read runs in.
    tick([[NS, CLOSE, LISTEN, 1]]);
    tables.set(PID, `${fullOnly}\nLISTEN 0 4096 0.0.0.0:9999 0.0.0.0:*\nESTAB 0 0 10.0.0.1:1 10.0.0.2:2`);
    await pass();
    tick();
    tick([[NS, CLOSE, ESTABLISHED, 1]]); // the ESTAB line above: counted in the read's interval
    const g = (await pass()).get(NS);
    expect(g?.sockets.ESTABLISHED).toBe(full.ESTABLISHED + 1); // not 2: the busy read was not adopted
    expect(g?.sockets.LISTEN).toBe(full.LISTEN + 1);
  });

  it("keeps optional reads (TIME_WAIT peers here) to the budget per pass, the longest unread first", async () => {
    const netns = new Map<number, NetnsHandle>();
    const tables = new Map<number, string>();
    for (let i = 0; i < 3; i++) {
      netns.set(NS + i, processHandle(PID + i));
      tables.set(PID + i, fullOnly);
      await writeNet(PID + i, {});
    }
    const { reader, readTable, tick, pass, baseline } = setup(tables, 1);
    await baseline(netns);
    expect(readTable).toHaveBeenCalledTimes(3);
    // TIME_WAIT appears in all three: each wants its peers listed.
    for (let i = 0; i < 3; i++) await writeNet(PID + i, { sockstat: withTw(50) });
    for (let k = 0; k < 3; k++) {
      tick();
      await pass(netns);
      expect(readTable).toHaveBeenCalledTimes(3 + k + 1);
    }
    expect(reader.readsByReason.get("time-wait-peers")).toBe(3);
    expect(new Set(readTable.mock.calls.slice(3).map((c) => c[1]))).toEqual(new Set(netns.values()));
  });
});
