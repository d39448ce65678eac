import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseSsTable } from "../../../agent/gauges/socket-table.js";
import { formatEndpoint, splitEndpoint } from "../../../agent/wire/endpoint.js";
import { GAUGE_STATES, type GaugeState, zeroGauges } from "../../../agent/wire/gauges.js";

/*
 * Fixtures under test/fixtures/ss are verbatim `ss -Htan` output of two network namespaces made on this machine
 * (test/fixtures/ss/capture.sh):
 *   ss-Htan.txt       sockets.py's listeners 0.0.0.0:8080 (listen(16), 3 connections never accepted) and
 *                     [::]:8443 (IPV6_V6ONLY, listen(128)), ESTABLISHED, TIME_WAIT, CLOSE_WAIT/FIN_WAIT2
 *                     pairs, and 5 SYN_RECV request socks on 8080 from syn-burst.py
 *   ss-Htan-peer.txt  peer-sockets.py's link-local listener [fe80::2]%eth0:9001, a listener bound to eth0, two
 *                     SO_REUSEPORT listeners on 0.0.0.0:9003 (listen(5) each), and 3 request socks on 9003
 */
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/ss/${name}`, import.meta.url), "utf8");
const table = fixture("ss-Htan.txt");
const peerTable = fixture("ss-Htan-peer.txt");
const capture = JSON.parse(fixture("capture.json")) as {
  synBurst: { sent: number };
  synBurstPeer: { sent: number };
};

/** ss's state column → ours, written out here rather than taken from the module under test. */
const SS_NAMES: Record<string, GaugeState> = {
  ESTAB: "ESTABLISHED",
  "SYN-SENT": "SYN_SENT",
  "SYN-RECV": "SYN_RECV",
  "FIN-WAIT-1": "FIN_WAIT1",
  "FIN-WAIT-2": "FIN_WAIT2",
  "TIME-WAIT": "TIME_WAIT",
  "CLOSE-WAIT": "CLOSE_WAIT",
  "LAST-ACK": "LAST_ACK",
  CLOSING: "CLOSING",
  LISTEN: "LISTEN",
};

/** Rows of the fixture as whitespace-separated columns. */
const rowsOf = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.trim().split(/ +/));

/** Counts the fixture's first column, independently of parseSsTable. */
function countFirstColumn(text: string): Record<GaugeState, number> {
  const out = Object.fromEntries(GAUGE_STATES.map((s) => [s, 0])) as Record<GaugeState, number>;
  for (const [state] of rowsOf(text)) {
    const ours = SS_NAMES[state as string];
    if (!ours) throw new Error(`fixture holds an ss state this test does not know: ${state}`);
    out[ours]++;
  }
  return out;
}

/** SYN-RECV rows whose local endpoint ends in `:port`. */
const synRecvOnPort = (text: string, port: number) =>
  rowsOf(text).filter(([state, , , local]) => state === "SYN-RECV" && local?.endsWith(`:${port}`)).length;

describe("parseSsTable: per-state counts of real ss output", () => {
  it("counts each state as often as the state appears in the fixture's first column", () => {
    expect(parseSsTable(table).gauges).toEqual(countFirstColumn(table));
    expect(parseSsTable(peerTable).gauges).toEqual(countFirstColumn(peerTable));
  });

  it("finds every socket sockets.py made and every request sock syn-burst.py left", () => {
    expect(parseSsTable(table).gauges).toEqual({
      ...zeroGauges(),
      LISTEN: 2,
      // 4 accepted pairs and 3 connections waiting in the accept queue, 2 sockets each
      ESTABLISHED: 14,
      TIME_WAIT: 6,
      CLOSE_WAIT: 2,
      // the clients of the CLOSE_WAIT connections
      FIN_WAIT2: 2,
      SYN_RECV: capture.synBurst.sent,
    });
  });

  it("counts every line of the fixture once (no state lost, none invented)", () => {
    const gauges = parseSsTable(table).gauges;
    const total = GAUGE_STATES.reduce((sum, s) => sum + gauges[s], 0);
    expect(total).toBe(rowsOf(table).length);
  });

  it("returns all-zero gauges, no listeners and no TIME_WAIT peers for empty output", () => {
    expect(parseSsTable("")).toEqual({
      gauges: zeroGauges(),
      listeners: [],
      timeWaitByPeer: new Map(),
      finWait2TimeWait: 0,
    });
    expect(parseSsTable("\n\n")).toEqual({
      gauges: zeroGauges(),
      listeners: [],
      timeWaitByPeer: new Map(),
      finWait2TimeWait: 0,
    });
  });
});

describe("parseSsTable: listeners and their queues", () => {
  it("reports the IPv4 listener with Recv-Q as accept queue, Send-Q as backlog and its port's SYN_RECV lines", () => {
    const listener = parseSsTable(table).listeners.find((l) => l.port === 8080);
    expect(listener).toEqual({
      address: "0.0.0.0",
      port: 8080,
      acceptQueue: 3, // the 3 connections sockets.py never accepted
      backlog: 16, // listen(16)
      synQueue: synRecvOnPort(table, 8080),
    });
    expect(listener?.synQueue).toBe(capture.synBurst.sent);
  });

  it("reports the [::] listener with its address unbracketed and an empty SYN queue", () => {
    expect(parseSsTable(table).listeners.find((l) => l.port === 8443)).toEqual({
      address: "::",
      port: 8443,
      acceptQueue: 0,
      backlog: 128,
      synQueue: 0,
    });
  });

  it("reports exactly the fixture's two listeners", () => {
    expect(
      parseSsTable(table)
        .listeners.map((l) => formatEndpoint(l.address, l.port))
        .sort(),
    ).toEqual(["0.0.0.0:8080", "[::]:8443"]);
  });

  it("reports an SO_REUSEPORT group as one listener with its queues summed", () => {
    const reuseport = parseSsTable(peerTable).listeners.filter((l) => l.port === 9003);
    expect(reuseport).toEqual([
      {
        address: "0.0.0.0",
        port: 9003,
        acceptQueue: 0,
        backlog: 10,
        synQueue: synRecvOnPort(peerTable, 9003),
      },
    ]);
    expect(reuseport[0]?.synQueue).toBe(capture.synBurstPeer.sent);
  });

  it("reports a listener bound to an interface under its address without the %interface suffix", () => {
    expect(parseSsTable(peerTable).listeners.find((l) => l.port === 9002)).toEqual({
      address: "0.0.0.0",
      port: 9002,
      acceptQueue: 0,
      backlog: 4,
      synQueue: 0,
    });
  });

  // Regression: agent/wire/endpoint.ts, splitEndpoint.
  it("reports a link-local listener under its bare address, not a bracketed one", () => {
    expect(parseSsTable(peerTable).listeners.find((l) => l.port === 9001)).toEqual({
      address: "fe80::2",
      port: 9001,
      acceptQueue: 0,
      backlog: 8,
      synQueue: 0,
    });
  });

  it("charges SYN_RECV lines to the first listener of their port only (wildcard and specific address)", () => {
    const text = [
      "LISTEN   0 128 0.0.0.0:80      0.0.0.0:*",
      "LISTEN   0 128 10.0.0.5:80     0.0.0.0:*",
      "SYN-RECV 0 0   10.0.0.5:80     10.0.0.9:40000",
      "SYN-RECV 0 0   10.0.0.5:80     10.0.0.9:40001",
      "SYN-RECV 0 0   10.0.0.5:443    10.0.0.9:40002",
    ].join("\n");
    expect(parseSsTable(text).listeners.map((l) => [l.address, l.port, l.synQueue])).toEqual([
      ["0.0.0.0", 80, 2],
      ["10.0.0.5", 80, 0],
    ]);
  });
});

describe("parseSsTable: TIME_WAIT per remote endpoint", () => {
  it("groups TIME_WAIT sockets by peer, a v4-mapped peer together with the same IPv4 peer", () => {
    // 3 IPv4 connections and 1 from an AF_INET6 socket to ::ffff:10.99.0.1, all to 10.99.0.1:8080; 2 to [::1]:8443
    expect(parseSsTable(table).timeWaitByPeer).toEqual(
      new Map([
        ["10.99.0.1:8080", 4],
        ["[::1]:8443", 2],
      ]),
    );
  });

  it("counts as many TIME_WAIT peers as the fixture has TIME-WAIT lines", () => {
    const byPeer = parseSsTable(table).timeWaitByPeer;
    expect([...byPeer.values()].reduce((a, b) => a + b, 0)).toBe(countFirstColumn(table).TIME_WAIT);
  });

  it("keeps only TIME_WAIT sockets: the peers of ESTABLISHED and CLOSE_WAIT sockets are not listed", () => {
    const byPeer = parseSsTable(table).timeWaitByPeer;
    expect([...byPeer.keys()].some((k) => k.startsWith("127.0.0.1:"))).toBe(false);
  });
});

describe("parseSsTable: lines that are not sockets", () => {
  const lines = rowsOf(table).length;
  it.each([
    ["an unknown state", "UNCONN 0 0 0.0.0.0:68 0.0.0.0:*"],
    ["a header line", "State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process"],
    ["an error message", "Cannot open netlink socket: Protocol not supported"],
    ["a state with too few columns", "ESTAB 0 0 10.0.0.1:80"],
    ["a lone state name", "LISTEN"],
    ["a lower-case state", "estab 0 0 10.0.0.1:80 10.0.0.2:5000"],
  ])("ignores %s", (_what, garbage) => {
    const withGarbage = `${garbage}\n${table}${garbage}\n`;
    expect(parseSsTable(withGarbage)).toEqual(parseSsTable(table));
    const gauges = parseSsTable(withGarbage).gauges;
    expect(GAUGE_STATES.reduce((sum, s) => sum + gauges[s], 0)).toBe(lines);
  });

  it("reads the same table without its final newline", () => {
    expect(parseSsTable(table.trimEnd())).toEqual(parseSsTable(table));
  });
});

describe("splitEndpoint: address and port of an ss endpoint", () => {
  it.each([
    ["an IPv4 endpoint", "10.0.0.1:80", { address: "10.0.0.1", port: 80 }],
    ["an IPv6 endpoint, brackets removed", "[fd00::1]:80", { address: "fd00::1", port: 80 }],
    ["the IPv6 wildcard", "[::]:8443", { address: "::", port: 8443 }],
    ["IPv6 loopback", "[::1]:58536", { address: "::1", port: 58536 }],
    [
      "a v4-mapped IPv6 endpoint, shown as IPv4",
      "[::ffff:10.99.0.1]:8080",
      { address: "10.99.0.1", port: 8080 },
    ],
    [
      "a v4-mapped endpoint without brackets",
      "::ffff:127.0.0.1:33112",
      { address: "127.0.0.1", port: 33112 },
    ],
    ["a dual-stack wildcard listener", "*:9001", { address: "*", port: 9001 }],
    ["the any-peer of a listener, port 0", "*:*", { address: "*", port: 0 }],
    ["an IPv4 any-peer", "0.0.0.0:*", { address: "0.0.0.0", port: 0 }],
    ["an IPv6 any-peer", "[::]:*", { address: "::", port: 0 }],
    ["an IPv4 address bound to an interface", "0.0.0.0%eth0:9002", { address: "0.0.0.0", port: 9002 }],
  ])("reads %s", (_what, text, expected) => {
    expect(splitEndpoint(text)).toEqual(expected);
  });

  it("keeps an IPv6 address under ::ffff: that is not v4-mapped dotted notation as it is", () => {
    expect(splitEndpoint("[::ffff:a00:1]:80")).toEqual({ address: "::ffff:a00:1", port: 80 });
  });

  // Regression: agent/wire/endpoint.ts, splitEndpoint.
  it("reads a scoped IPv6 endpoint as ss prints it, brackets and %interface removed", () => {
    expect(splitEndpoint("[fe80::2]%eth0:9001")).toEqual({ address: "fe80::2", port: 9001 });
  });

  it("reads every endpoint of ss-Htan.txt to an address without brackets, %interface or ::ffff:", () => {
    const endpoints = rowsOf(table).flatMap((r) => [r[3] as string, r[4] as string]);
    for (const text of endpoints) {
      const e = splitEndpoint(text);
      expect(e, text).not.toBeNull();
      expect(e?.address, text).not.toMatch(/[[\]%]|^::ffff:\d/);
      expect(Number.isInteger(e?.port), text).toBe(true);
    }
  });

  it.each([
    ["no colon at all", "localhost"],
    ["a service name for the port", "10.0.0.1:http"],
    ["a fractional port", "10.0.0.1:80.5"],
  ])("returns null for %s", (_what, text) => {
    expect(splitEndpoint(text)).toBeNull();
  });
});

describe("formatEndpoint: ip:port with IPv6 in brackets", () => {
  it.each([
    ["10.0.0.1", 80, "10.0.0.1:80"],
    ["fd00::1", 80, "[fd00::1]:80"],
    ["::", 8443, "[::]:8443"],
    ["::1", 0, "[::1]:0"],
  ])("formats %s port %i as %s", (address, port, expected) => {
    expect(formatEndpoint(address, port)).toBe(expected);
  });

  it("round-trips with splitEndpoint for IPv4 and IPv6 endpoints", () => {
    for (const text of ["10.0.0.1:80", "[fd00::1]:443", "[::1]:8443", "0.0.0.0:8080"]) {
      const e = splitEndpoint(text);
      expect(e && formatEndpoint(e.address, e.port)).toBe(text);
    }
  });

  it("formats a v4-mapped endpoint as its IPv4 form once split", () => {
    const e = splitEndpoint("[::ffff:10.0.0.7]:5432");
    expect(e && formatEndpoint(e.address, e.port)).toBe("10.0.0.7:5432");
  });
});
