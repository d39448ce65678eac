import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type NetnsHandle, processHandle } from "../../../agent/attribution/netns-handle.js";
import { NetnsGaugeReader } from "../../../agent/gauges/netns-gauges.js";
import {
  parseProcNetCounters,
  parseSockstat,
  pickNetnsCounters,
  type TcpSockstat,
} from "../../../agent/gauges/proc-counters.js";
import { parseSsTable } from "../../../agent/gauges/socket-table.js";
import {
  TIME_WAIT_PEERS_MAX_AGE_MS,
  tableIsStale,
  wantTimeWaitPeers,
} from "../../../agent/gauges/table-staleness.js";
import { GAUGE_STATES, NETNS_COUNTERS, type NetnsCounters } from "../../../agent/wire/gauges.js";

/*
 * test/fixtures/ss (capture.sh), all taken together from one test network namespace: ss-Htan.txt is its
 * `ss -Htan`, ss-Htan-exclude-time-wait.txt its `ss -Htan exclude time-wait` (what readSocketTable runs when it
 * does not want TIME_WAIT peers), netns-*.txt its /proc/self/net/{sockstat,snmp,netstat}. The fake procRoot
 * below holds copies of those files (edited where a test moves a counter); the injected readTable answers with
 * one of the two ss outputs, as readSocketTable would.
 */
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/ss/${name}`, import.meta.url), "utf8");
const ssFull = fixture("ss-Htan.txt");
const ssExcludeTimeWait = fixture("ss-Htan-exclude-time-wait.txt");
const realSockstat = fixture("netns-sockstat.txt");
const realSnmp = fixture("netns-snmp.txt");
const realNetstat = fixture("netns-netstat.txt");

const dropLines = (text: string, state: string) =>
  text
    .split("\n")
    .filter((l) => !l.startsWith(`${state} `))
    .join("\n");

/** What `ss -Htan` and `ss -Htan exclude time-wait` print in one netns. */
interface SsOutput {
  full: string;
  excludeTimeWait: string;
}
const real: SsOutput = { full: ssFull, excludeTimeWait: ssExcludeTimeWait };
/** The fixture's sockets without its SYN-RECV request socks: a netns where nothing waits for a handshake. */
const quiet: SsOutput = {
  full: dropLines(ssFull, "SYN-RECV"),
  excludeTimeWait: dropLines(ssExcludeTimeWait, "SYN-RECV"),
};
/** A netns whose ss output is `full` (`exclude time-wait` drops its TIME-WAIT lines, as the fixture shows). */
const ssOf = (full: string): SsOutput => ({ full, excludeTimeWait: dropLines(full, "TIME-WAIT") });

/** `text` with `Prefix.name` set to `value` on its values line. */
function setCounter(text: string, prefix: string, name: string, value: number): string {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.startsWith(`${prefix}: `));
  const column = at < 0 ? -1 : (lines[at] as string).split(" ").indexOf(name);
  if (column < 1) throw new Error(`no ${prefix}.${name} in the fixture`);
  const values = (lines[at + 1] as string).split(" ");
  values[column] = String(value);
  lines[at + 1] = values.join(" ");
  return lines.join("\n");
}

/** `text` (a sockstat file) with the TCP line's `name` set to `value`. */
const setSockstat = (text: string, name: string, value: number) =>
  text.replace(new RegExp(`^(TCP:.*\\b${name} )\\d+`, "m"), `$1${value}`);

/** A counter's value in the fixture text, read directly. */
function counterOf(text: string, prefix: string, name: string): number {
  const [names, values] = text.split("\n").filter((l) => l.startsWith(`${prefix}: `));
  return Number((values as string).split(" ")[(names as string).split(" ").indexOf(name)]);
}

interface NetFiles {
  sockstat: string;
  snmp: string;
  netstat: string;
}
const realFiles = (): NetFiles => ({ sockstat: realSockstat, snmp: realSnmp, netstat: realNetstat });
const withTw = (tw: number): NetFiles => ({ ...realFiles(), sockstat: setSockstat(realSockstat, "tw", tw) });

let procRoot: string;
beforeEach(async () => {
  procRoot = await mkdtemp(join(tmpdir(), "tcpstate-gauges-"));
});
afterEach(async () => {
  await rm(procRoot, { recursive: true, force: true });
});

/** Writes `<procRoot>/<pid>/net/{sockstat,snmp,netstat}`. */
async function writeNet(pid: number, files: NetFiles): Promise<void> {
  const dir = join(procRoot, String(pid), "net");
  await mkdir(dir, { recursive: true });
  await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)));
}

/**
 * A reader whose socket tables come from `tables` (pid → ss output, or null: the process has gone), on a clock
 * the test moves.
 */
function readerWith(tables: Map<number, SsOutput | null>, concurrency = 4) {
  const readTable = vi.fn(async (_root: string, handle: NetnsHandle, withTimeWait: boolean) => {
    const ss = handle.kind === "process" ? tables.get(handle.pid) : undefined;
    return ss ? parseSsTable(withTimeWait ? ss.full : ss.excludeTimeWait) : null;
  });
  const clock = { now: 1_700_000_000_000 };
  const reader = new NetnsGaugeReader({ procRoot, concurrency, readTable, clock: () => clock.now });
  return { reader, readTable, clock };
}

const INODE = 4026532001;
const PID = 4242;
const one = new Map([[INODE, processHandle(PID)]]);
const none = new Set<number>();

const zeroDeltas = () =>
  Object.fromEntries(Object.keys(NETNS_COUNTERS).map((k) => [k, 0])) as unknown as NetnsCounters;

const realSockstatParsed = parseSockstat(realSockstat) as TcpSockstat;
const realCounters = pickNetnsCounters(
  parseProcNetCounters(`${realSnmp}\n${realNetstat}`, ["Tcp", "TcpExt"]),
);
type Last = NonNullable<Parameters<typeof tableIsStale>[0]> &
  NonNullable<Parameters<typeof wantTimeWaitPeers>[0]>;
const lastOf = (over: Partial<Last> = {}): Last => ({
  sockstat: realSockstatParsed,
  counters: realCounters,
  table: parseSsTable(quiet.full),
  timeWaitListedAt: 1_700_000_000_000,
  timeWaitListed: realSockstatParsed.tw,
  ...over,
});

describe("fixture: what ss exclude time-wait leaves out", () => {
  it("drops exactly the TIME-WAIT lines (the fake readTable relies on it)", () => {
    // Timers tick between the two captures: compare lines without them.
    const sorted = (t: string) =>
      t
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l.replace(/timer:\([^)]*\)/, ""))
        .sort();
    expect(sorted(ssExcludeTimeWait)).toEqual(sorted(dropLines(ssFull, "TIME-WAIT")));
  });
});

describe("tableIsStale: is the last socket table still right?", () => {
  const sockstat = realSockstatParsed;
  const counters = realCounters;
  const last = lastOf();

  it("is stale on the first read (nothing known yet)", () => {
    expect(tableIsStale(undefined, sockstat, counters, false)).toBe(true);
  });

  it("is not stale when nothing moved and no request sock waits", () => {
    expect(tableIsStale(last, { ...sockstat }, { ...counters }, false)).toBe(false);
  });

  it("is stale when the netns made transitions in the window", () => {
    expect(tableIsStale(last, sockstat, counters, true)).toBe(true);
  });

  it.each(["in_segs", "out_segs"] as const)("is stale when %s moved", (name) => {
    expect(tableIsStale(last, sockstat, { ...counters, [name]: counters[name] + 1 }, false)).toBe(true);
  });

  it.each(["inuse", "tw"] as const)("is stale when sockstat's %s moved (up or down)", (name) => {
    expect(tableIsStale(last, { ...sockstat, [name]: sockstat[name] + 1 }, counters, false)).toBe(true);
    expect(tableIsStale(last, { ...sockstat, [name]: sockstat[name] - 1 }, counters, false)).toBe(true);
  });

  it("is stale while the last table held SYN_RECV request socks, even with nothing else moved", () => {
    const withSynRecv = lastOf({ table: parseSsTable(real.full) });
    expect(withSynRecv.table.gauges.SYN_RECV).toBeGreaterThan(0);
    expect(tableIsStale(withSynRecv, sockstat, counters, false)).toBe(true);
  });
});

describe("wantTimeWaitPeers: should a table read list TIME_WAIT sockets?", () => {
  const t0 = 1_700_000_000_000;
  const last = lastOf({ timeWaitListedAt: t0, timeWaitListed: 100 });

  it("does not list them when the netns has none", () => {
    expect(wantTimeWaitPeers(undefined, 0, t0)).toBe(false);
    expect(wantTimeWaitPeers(last, 0, t0 + 10 * TIME_WAIT_PEERS_MAX_AGE_MS)).toBe(false);
  });

  it("lists them on the first read, and while they were never listed", () => {
    expect(wantTimeWaitPeers(undefined, 3, t0)).toBe(true);
    expect(wantTimeWaitPeers(lastOf({ timeWaitListedAt: 0, timeWaitListed: 0 }), 3, t0)).toBe(true);
  });

  it("does not list them again soon after while the count moved by a tenth or less", () => {
    expect(wantTimeWaitPeers(last, 100, t0 + 1)).toBe(false);
    expect(wantTimeWaitPeers(last, 110, t0 + TIME_WAIT_PEERS_MAX_AGE_MS - 1)).toBe(false);
    expect(wantTimeWaitPeers(last, 90, t0 + TIME_WAIT_PEERS_MAX_AGE_MS - 1)).toBe(false);
  });

  it("lists them again once the last listing is TIME_WAIT_PEERS_MAX_AGE_MS old", () => {
    expect(wantTimeWaitPeers(last, 100, t0 + TIME_WAIT_PEERS_MAX_AGE_MS)).toBe(true);
  });

  it("lists them again once the count moved by more than a tenth, up or down", () => {
    expect(wantTimeWaitPeers(last, 111, t0 + 1)).toBe(true);
    expect(wantTimeWaitPeers(last, 89, t0 + 1)).toBe(true);
  });

  it("needs a move of more than one socket when few were listed", () => {
    const few = lastOf({ timeWaitListedAt: t0, timeWaitListed: 4 });
    expect(wantTimeWaitPeers(few, 5, t0 + 1)).toBe(false);
    expect(wantTimeWaitPeers(few, 6, t0 + 1)).toBe(true);
  });
});

describe("NetnsGaugeReader: what one pass reports", () => {
  it("takes TIME_WAIT from sockstat's tw and every other state from the socket table", async () => {
    await writeNet(PID, withTw(41));
    const { reader } = readerWith(new Map([[PID, quiet]]));
    const g = (await reader.read(one, none)).get(INODE);
    const table = parseSsTable(quiet.full);
    expect(g?.sockets).toEqual({ ...table.gauges, TIME_WAIT: 41 - table.finWait2TimeWait });
    expect(table.gauges.TIME_WAIT).not.toBe(41);
  });

  it("reports the table's listeners and, on a first read, its TIME_WAIT peers", async () => {
    await writeNet(PID, realFiles());
    const { reader } = readerWith(new Map([[PID, real]]));
    const g = (await reader.read(one, none)).get(INODE);
    const table = parseSsTable(real.full);
    expect(g?.listeners).toEqual(table.listeners);
    expect(g?.timeWaitByPeer).toEqual(table.timeWaitByPeer);
    expect(g?.timeWaitByPeer.size).toBeGreaterThan(0);
  });

  it("reports counter deltas of 0 on the first pass, and reads the table with TIME_WAIT sockets", async () => {
    await writeNet(PID, realFiles());
    const { reader, readTable } = readerWith(new Map([[PID, quiet]]));
    const g = (await reader.read(one, none)).get(INODE);
    expect(g?.counterDeltas).toEqual(zeroDeltas());
    expect(g?.tableRead).toBe(true);
    expect(readTable).toHaveBeenCalledTimes(1);
    expect(readTable).toHaveBeenCalledWith(procRoot, processHandle(PID), true);
    expect(reader.tableReads).toBe(1);
  });

  it("reads the table without TIME_WAIT sockets, and reports no peers, when sockstat has no TIME_WAIT", async () => {
    await writeNet(PID, withTw(0));
    const { reader, readTable } = readerWith(new Map([[PID, ssOf(dropLines(quiet.full, "TIME-WAIT"))]]));
    const g = (await reader.read(one, none)).get(INODE);
    expect(readTable).toHaveBeenCalledWith(procRoot, processHandle(PID), false);
    expect(g?.timeWaitByPeer).toEqual(new Map());
    expect(g?.sockets.TIME_WAIT).toBe(0);
  });

  // Regression: sockstat tw also counts orphaned FIN_WAIT2 timewait socks, which ss lists as FIN-WAIT-2.
  it("counts every socket of the netns once when TIME_WAIT comes from sockstat (orphaned FIN_WAIT2)", async () => {
    await writeNet(PID, realFiles());
    const { reader } = readerWith(new Map([[PID, real]]));
    const g = (await reader.read(one, none)).get(INODE);
    const sockets = g?.sockets as NonNullable<typeof g>["sockets"];
    const total = GAUGE_STATES.reduce((sum, s) => sum + sockets[s], 0);
    const ssLines = ssFull.split("\n").filter((l) => l.trim() !== "").length;
    expect(total).toBe(ssLines);
    expect(sockets.TIME_WAIT).toBe(parseSsTable(ssFull).gauges.TIME_WAIT);
  });
});

describe("NetnsGaugeReader: the socket table is read again only when stale", () => {
  it("keeps the last table while nothing moved: no read, tableRead false, same gauges", async () => {
    await writeNet(PID, realFiles());
    const { reader, readTable, clock } = readerWith(new Map([[PID, quiet]]));
    const first = (await reader.read(one, none)).get(INODE);
    const second = (await reader.read(one, none)).get(INODE);
    clock.now += 10 * TIME_WAIT_PEERS_MAX_AGE_MS; // however long it has been
    const third = (await reader.read(one, none)).get(INODE);
    expect(readTable).toHaveBeenCalledTimes(1);
    expect(reader.tableReads).toBe(1);
    expect(second?.tableRead).toBe(false);
    expect(third?.tableRead).toBe(false);
    expect(second?.sockets).toEqual(first?.sockets);
    expect(third?.listeners).toEqual(first?.listeners);
    expect(third?.timeWaitByPeer).toEqual(first?.timeWaitByPeer);
  });

  it("reads it again in a pass where the netns made transitions, and only that netns's", async () => {
    await writeNet(PID, realFiles());
    const { reader, readTable } = readerWith(new Map([[PID, quiet]]));
    await reader.read(one, none);
    const g = (await reader.read(one, new Set([INODE]))).get(INODE);
    expect(g?.tableRead).toBe(true);
    expect(readTable).toHaveBeenCalledTimes(2);
    await reader.read(one, new Set([INODE + 1]));
    expect(readTable).toHaveBeenCalledTimes(2);
  });

  it("reads it again once a segment counter moved, and reports the new table", async () => {
    const tables = new Map([[PID, quiet]]);
    await writeNet(PID, realFiles());
    const { reader, readTable } = readerWith(tables);
    await reader.read(one, none);
    const inSegs = counterOf(realSnmp, "Tcp", "InSegs");
    await writeNet(PID, { ...realFiles(), snmp: setCounter(realSnmp, "Tcp", "InSegs", inSegs + 3) });
    tables.set(PID, ssOf("ESTAB 0 0 10.0.0.1:80 10.0.0.2:5000\n"));
    const g = (await reader.read(one, none)).get(INODE);
    expect(readTable).toHaveBeenCalledTimes(2);
    expect(g?.tableRead).toBe(true);
    expect(g?.sockets.ESTABLISHED).toBe(1);
    expect(g?.listeners).toEqual([]);
  });

  it("reads it again once sockstat's inuse moved", async () => {
    await writeNet(PID, realFiles());
    const { reader, readTable } = readerWith(new Map([[PID, quiet]]));
    await reader.read(one, none);
    await writeNet(PID, {
      ...realFiles(),
      sockstat: setSockstat(realSockstat, "inuse", realSockstatParsed.inuse - 1),
    });
    expect((await reader.read(one, none)).get(INODE)?.tableRead).toBe(true);
    expect(readTable).toHaveBeenCalledTimes(2);
  });

  it("reads it again once sockstat's tw moved (a TIME_WAIT expired), and reports the new tw", async () => {
    await writeNet(PID, realFiles());
    const { reader, readTable } = readerWith(new Map([[PID, quiet]]));
    await reader.read(one, none);
    await writeNet(PID, withTw(realSockstatParsed.tw - 1));
    const g = (await reader.read(one, none)).get(INODE);
    expect(readTable).toHaveBeenCalledTimes(2);
    // sockstat's tw counts timewait socks; those ss lists as FIN-WAIT-2 (orphans) are reported as FIN_WAIT2.
    expect(g?.sockets.TIME_WAIT).toBe(realSockstatParsed.tw - 1 - parseSsTable(quiet.full).finWait2TimeWait);
  });

  it("keeps reading it while request socks wait, and stops once they are gone", async () => {
    const tables = new Map([[PID, real]]);
    await writeNet(PID, realFiles());
    const { reader, readTable } = readerWith(tables);
    await reader.read(one, none);
    await reader.read(one, none);
    await reader.read(one, none);
    expect(readTable).toHaveBeenCalledTimes(3);
    tables.set(PID, quiet); // the request socks expired
    const g = (await reader.read(one, none)).get(INODE);
    expect(g?.sockets.SYN_RECV).toBe(0);
    expect(readTable).toHaveBeenCalledTimes(4);
    await reader.read(one, none);
    await reader.read(one, none);
    expect(readTable).toHaveBeenCalledTimes(4);
  });

  it("does not read it for a counter that moves no segment (listen_overflows alone)", async () => {
    await writeNet(PID, realFiles());
    const { reader, readTable } = readerWith(new Map([[PID, quiet]]));
    await reader.read(one, none);
    const before = counterOf(realNetstat, "TcpExt", "ListenOverflows");
    await writeNet(PID, {
      ...realFiles(),
      netstat: setCounter(realNetstat, "TcpExt", "ListenOverflows", before + 2),
    });
    const g = (await reader.read(one, none)).get(INODE);
    expect(readTable).toHaveBeenCalledTimes(1);
    expect(g?.tableRead).toBe(false);
    expect(g?.counterDeltas?.listen_overflows).toBe(2);
  });
});

describe("NetnsGaugeReader: TIME_WAIT peers", () => {
  it("keeps the last listed peers on a read soon after that leaves TIME_WAIT sockets out", async () => {
    await writeNet(PID, realFiles());
    const { reader, readTable, clock } = readerWith(new Map([[PID, real]]));
    const first = (await reader.read(one, none)).get(INODE);
    clock.now += 1000;
    const second = (await reader.read(one, new Set([INODE]))).get(INODE);
    expect(readTable.mock.calls.map((c) => c[2])).toEqual([true, false]);
    expect(second?.timeWaitByPeer).toEqual(first?.timeWaitByPeer);
    expect(second?.timeWaitByPeer).toEqual(parseSsTable(real.full).timeWaitByPeer);
    expect(second?.sockets.TIME_WAIT).toBe(realSockstatParsed.tw - parseSsTable(real.full).finWait2TimeWait);
  });

  it("lists them again on a read TIME_WAIT_PEERS_MAX_AGE_MS after the last listing", async () => {
    const tables = new Map([[PID, real]]);
    await writeNet(PID, realFiles());
    const { reader, readTable, clock } = readerWith(tables);
    await reader.read(one, none);
    clock.now += TIME_WAIT_PEERS_MAX_AGE_MS;
    tables.set(PID, ssOf("TIME-WAIT 0 0 10.0.0.1:40000 10.0.0.9:443\n"));
    const g = (await reader.read(one, new Set([INODE]))).get(INODE);
    expect(readTable.mock.calls.map((c) => c[2])).toEqual([true, true]);
    expect(g?.timeWaitByPeer).toEqual(new Map([["10.0.0.9:443", 1]]));
  });

  it("lists them again when the TIME_WAIT count moved by more than a tenth", async () => {
    await writeNet(PID, withTw(100));
    const { reader, readTable, clock } = readerWith(new Map([[PID, real]]));
    await reader.read(one, none);
    clock.now += 1000;
    await writeNet(PID, withTw(105));
    await reader.read(one, none);
    await writeNet(PID, withTw(111));
    await reader.read(one, none);
    expect(readTable.mock.calls.map((c) => c[2])).toEqual([true, false, true]);
  });

  it("reports no peers once the netns has no TIME_WAIT sockets, without listing them", async () => {
    await writeNet(PID, realFiles());
    const { reader, readTable } = readerWith(new Map([[PID, real]]));
    await reader.read(one, none);
    await writeNet(PID, withTw(0));
    const g = (await reader.read(one, none)).get(INODE);
    expect(readTable.mock.calls.map((c) => c[2])).toEqual([true, false]);
    expect(g?.timeWaitByPeer).toEqual(new Map());
  });

  // Regression: agent/gauges/netns-gauges.ts, readOne/wantTimeWaitPeers.
  it("lists them again when TIME_WAIT sockets come back after the netns had none", async () => {
    await writeNet(PID, realFiles());
    const { reader, readTable, clock } = readerWith(new Map([[PID, real]]));
    await reader.read(one, none);
    clock.now += 1000;
    await writeNet(PID, withTw(0));
    await reader.read(one, none);
    clock.now += 1000;
    await writeNet(PID, realFiles());
    const g = (await reader.read(one, none)).get(INODE);
    expect(readTable.mock.calls.map((c) => c[2])).toEqual([true, false, true]);
    expect(g?.timeWaitByPeer).toEqual(parseSsTable(real.full).timeWaitByPeer);
  });
});

describe("NetnsGaugeReader: counter deltas", () => {
  it("reports each counter's increase since the previous pass", async () => {
    await writeNet(PID, realFiles());
    const { reader } = readerWith(new Map([[PID, quiet]]));
    await reader.read(one, none);
    let snmp = setCounter(realSnmp, "Tcp", "InSegs", counterOf(realSnmp, "Tcp", "InSegs") + 10);
    snmp = setCounter(snmp, "Tcp", "OutSegs", counterOf(realSnmp, "Tcp", "OutSegs") + 7);
    snmp = setCounter(snmp, "Tcp", "PassiveOpens", counterOf(realSnmp, "Tcp", "PassiveOpens") + 2);
    const drops = counterOf(realNetstat, "TcpExt", "ListenDrops");
    const netstat = setCounter(realNetstat, "TcpExt", "ListenDrops", drops + 4);
    await writeNet(PID, { ...realFiles(), snmp, netstat });
    const second = (await reader.read(one, none)).get(INODE);
    expect(second?.counterDeltas).toEqual({
      ...zeroDeltas(),
      in_segs: 10,
      out_segs: 7,
      passive_opens: 2,
      listen_drops: 4,
    });
    // the next pass measures from the second, not the first
    expect((await reader.read(one, none)).get(INODE)?.counterDeltas).toEqual(zeroDeltas());
  });

  it("never reports a negative delta: a counter that went back reports 0, then grows from there", async () => {
    await writeNet(PID, realFiles());
    const { reader } = readerWith(new Map([[PID, quiet]]));
    await reader.read(one, none);
    expect(counterOf(realSnmp, "Tcp", "InSegs")).toBeGreaterThan(5);
    await writeNet(PID, { ...realFiles(), snmp: setCounter(realSnmp, "Tcp", "InSegs", 5) });
    const back = (await reader.read(one, none)).get(INODE);
    expect(back?.counterDeltas?.in_segs).toBe(0);
    expect(Object.values(back?.counterDeltas ?? {}).every((v) => v >= 0)).toBe(true);
    await writeNet(PID, { ...realFiles(), snmp: setCounter(realSnmp, "Tcp", "InSegs", 9) });
    expect((await reader.read(one, none)).get(INODE)?.counterDeltas?.in_segs).toBe(4);
  });

  it("starts afresh for a netns left out of one pass and seen again: deltas 0, table read", async () => {
    await writeNet(PID, realFiles());
    const { reader, readTable } = readerWith(new Map([[PID, quiet]]));
    await reader.read(one, none);
    await reader.read(new Map(), none);
    const inSegs = counterOf(realSnmp, "Tcp", "InSegs");
    await writeNet(PID, { ...realFiles(), snmp: setCounter(realSnmp, "Tcp", "InSegs", inSegs + 100) });
    const g = (await reader.read(one, none)).get(INODE);
    expect(g?.counterDeltas).toEqual(zeroDeltas());
    expect(g?.tableRead).toBe(true);
    expect(readTable).toHaveBeenCalledTimes(2);
  });
});

describe("NetnsGaugeReader: netns that cannot be read", () => {
  const two = new Map([
    [INODE, processHandle(PID)],
    [INODE + 1, processHandle(PID + 1)],
  ]);

  it("leaves out a netns whose /proc files vanished, and reports the others", async () => {
    await writeNet(PID, realFiles());
    await writeNet(PID + 1, realFiles());
    const { reader } = readerWith(
      new Map([
        [PID, quiet],
        [PID + 1, quiet],
      ]),
    );
    expect([...(await reader.read(two, none)).keys()].sort()).toEqual([INODE, INODE + 1]);
    await rm(join(procRoot, String(PID)), { recursive: true });
    const result = await reader.read(two, none);
    expect(result.has(INODE)).toBe(false);
    expect(result.get(INODE + 1)?.tableRead).toBe(false);
  });

  it.each(["sockstat", "snmp", "netstat"])("leaves out a netns whose %s is missing", async (name) => {
    await writeNet(PID, realFiles());
    await rm(join(procRoot, String(PID), "net", name));
    const { reader, readTable } = readerWith(new Map([[PID, quiet]]));
    expect((await reader.read(one, none)).size).toBe(0);
    expect(readTable).not.toHaveBeenCalled();
  });

  it("leaves out a netns whose sockstat has no TCP line", async () => {
    await writeNet(PID, { ...realFiles(), sockstat: "sockets: used 3\nUDP: inuse 0 mem 0\n" });
    const { reader } = readerWith(new Map([[PID, quiet]]));
    expect((await reader.read(one, none)).size).toBe(0);
  });

  it("leaves out a netns whose table cannot be read (its process left between the reads)", async () => {
    await writeNet(PID, realFiles());
    const { reader } = readerWith(new Map([[PID, null]]));
    expect((await reader.read(one, none)).size).toBe(0);
    expect(reader.tableReads).toBe(0);
  });
});

describe("NetnsGaugeReader: many netns", () => {
  it("reads every netns once, with no more table reads in flight than its concurrency", async () => {
    const netns = new Map<number, NetnsHandle>();
    for (let i = 0; i < 7; i++) {
      netns.set(INODE + i, processHandle(PID + i));
      await writeNet(PID + i, realFiles());
    }
    let inFlight = 0;
    let most = 0;
    const readTable = vi.fn(async (_root: string, _handle: NetnsHandle, _withTimeWait: boolean) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return parseSsTable(quiet.full);
    });
    const reader = new NetnsGaugeReader({ procRoot, concurrency: 2, readTable });
    const result = await reader.read(netns, none);
    expect([...result.keys()].sort()).toEqual([...netns.keys()].sort());
    expect(readTable).toHaveBeenCalledTimes(7);
    expect(new Set(readTable.mock.calls.map((c) => c[1]))).toEqual(new Set(netns.values()));
    expect(most).toBeLessThanOrEqual(2);
  });
});
