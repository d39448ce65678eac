import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ProbeLine, parseProbeLine } from "../../../agent/probe/probe-line.js";

/*
 * The fixtures are verbatim stdout of bpftrace 0.17 running agent/probe/transitions.bt and events.bt on this
 * machine (test/fixtures/bpftrace/capture.sh). While each ran, test/fixtures/bpftrace/traffic.py made loopback
 * connections in a fresh network namespace whose inode is in capture.json; other processes on the machine
 * made traffic of their own in other namespaces, which is kept (it is what real output looks like).
 */
const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/bpftrace/${name}`, import.meta.url), "utf8");
const capture = JSON.parse(fixture("capture.json")) as { netns: number };
const transitionsOutput = fixture("transitions-0.17.txt");
const eventsOutput = fixture("events-0.17.txt");

/** bpftrace's stdout split the way the supervisor splits it (one line per "\n"). */
const linesOf = (text: string) => text.replace(/\n$/, "").split("\n");

type Of<T extends ProbeLine["type"]> = Extract<ProbeLine, { type: T }>;
const parsedOfType = <T extends ProbeLine["type"]>(text: string, type: T): Of<T>[] =>
  linesOf(text)
    .map(parseProbeLine)
    .filter((l): l is Of<T> => l.type === type);

/** The transitions traffic.py makes, per socket, as the kernel reports them (docs/design.md, "Kernel facts"). */
const seq = {
  connect: [
    [7, 2],
    [2, 1],
  ],
  acceptChild: [
    [10, 3],
    [3, 1],
  ],
  activeClose: [
    [1, 4],
    [4, 5],
    [5, 7],
  ],
  passiveClose: [
    [1, 8],
    [8, 9],
    [9, 7],
  ],
  reset: [[1, 7]],
  refused: [
    [7, 2],
    [2, 7],
  ],
  listen: [[7, 10]],
  closeListener: [[10, 7]],
} as const;

/** Per "old→new", how many times traffic.py's connections A, B, C, D, X and its two listeners make it. */
function expectedTrafficTransitions(): Map<string, number> {
  const sockets = [
    // two listeners (IPv4 and IPv6), each opened and closed
    ...[1, 2].map(() => [...seq.listen, ...seq.closeListener]),
    // A (IPv4) and D (IPv6): the client closes first
    ...[1, 2].flatMap(() => [
      [...seq.connect, ...seq.activeClose],
      [...seq.acceptChild, ...seq.passiveClose],
    ]),
    // B: the server closes first
    [...seq.connect, ...seq.passiveClose],
    [...seq.acceptChild, ...seq.activeClose],
    // C: the client aborts with SO_LINGER 0, RST on both sides
    [...seq.connect, ...seq.reset],
    [...seq.acceptChild, ...seq.reset],
    // X: connect to a closed port
    [...seq.refused],
  ];
  const out = new Map<string, number>();
  for (const socket of sockets)
    for (const [o, n] of socket) out.set(`${o}→${n}`, (out.get(`${o}→${n}`) ?? 0) + 1);
  return out;
}

function sumByTransition(rows: { oldState: number; newState: number; count: number }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows)
    out.set(`${r.oldState}→${r.newState}`, (out.get(`${r.oldState}→${r.newState}`) ?? 0) + r.count);
  return out;
}

const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => a.localeCompare(b));

describe("parseProbeLine on real bpftrace 0.17 output of transitions.bt", () => {
  it("parses every line of the capture to a known kind, none malformed", () => {
    const lines = linesOf(transitionsOutput);
    expect(lines.length).toBeGreaterThan(10);
    const malformed = lines.map(parseProbeLine).filter((l) => l.type === "malformed");
    expect(malformed).toEqual([]);
  });

  it("reads the ready marker printed by BEGIN once, before any flush", () => {
    const types = linesOf(transitionsOutput).map((l) => parseProbeLine(l).type);
    expect(types.filter((t) => t === "ready")).toHaveLength(1);
    expect(types.indexOf("ready")).toBeLessThan(types.indexOf("flush-begin"));
  });

  it("reads one begin and one end marker per flush, numbered 1, 2, … and the END flush marked final", () => {
    const markers = linesOf(transitionsOutput)
      .map(parseProbeLine)
      .filter((l) => l.type === "flush-begin" || l.type === "flush-end");
    expect(markers.length % 2).toBe(0);
    for (let i = 0; i < markers.length; i += 2) {
      const begin = markers[i] as Of<"flush-begin">;
      const end = markers[i + 1];
      const final = i === markers.length - 2;
      expect(begin).toMatchObject({ type: "flush-begin", seq: i / 2 + 1, final });
      expect(end).toEqual({ type: "flush-end", seq: i / 2 + 1, final });
      // Every tick carries its time; the END flush is no tick.
      if (final) expect(begin.tickUs).toBeUndefined();
      else expect(begin.tickUs).toBeGreaterThan(0);
    }
    expect(markers.at(-1)).toMatchObject({ type: "flush-end", final: true });
  });

  it("puts every count line between a flush's begin and end markers", () => {
    let open = false;
    for (const line of linesOf(transitionsOutput).map(parseProbeLine)) {
      if (line.type === "flush-begin") open = true;
      else if (line.type === "flush-end") open = false;
      else if (line.type === "count") expect(open).toBe(true);
    }
  });

  it("sums the counts of the traffic's network namespace to exactly the transitions the traffic made", () => {
    const counts = parsedOfType(transitionsOutput, "count").filter((c) => c.netns === capture.netns);
    expect(sorted(sumByTransition(counts))).toEqual(sorted(expectedTrafficTransitions()));
  });

  it("reads kernel TCP states (1–12) and positive counts from every map line", () => {
    const counts = parsedOfType(transitionsOutput, "count");
    expect(counts.length).toBeGreaterThan(0);
    for (const c of counts) {
      expect([c.oldState, c.newState].every((s) => s >= 1 && s <= 12)).toBe(true);
      expect(c.count).toBeGreaterThan(0);
    }
  });
});

describe("parseProbeLine on real bpftrace 0.17 output of events.bt", () => {
  const events = parsedOfType(eventsOutput, "event");
  const ours = events.filter((e) => e.netns === capture.netns);

  it("parses every line of the capture to a known kind, none malformed", () => {
    const malformed = linesOf(eventsOutput)
      .map(parseProbeLine)
      .filter((l) => l.type === "malformed");
    expect(malformed).toEqual([]);
    expect(events.length).toBeGreaterThan(0);
  });

  it("sees one event per transition the traffic made: the same transitions the counting program counted", () => {
    expect(sorted(sumByTransition(ours.map((e) => ({ ...e, count: 1 }))))).toEqual(
      sorted(expectedTrafficTransitions()),
    );
  });

  it("reads IPv4 events with dotted addresses and the ports of the connection", () => {
    const v4 = ours.filter((e) => e.family === 4);
    expect(v4.length).toBeGreaterThan(0);
    for (const e of v4) {
      expect(e.saddr).toBe("127.0.0.1");
      expect(e.daddr).toMatch(/^(127\.0\.0\.1|0\.0\.0\.0)$/);
    }
    // The IPv4 listener on port 5000 is opened with no peer.
    expect(v4).toContainEqual(
      expect.objectContaining({ oldState: 7, newState: 10, sport: 5000, daddr: "0.0.0.0", dport: 0 }),
    );
    // The refused connect to the closed port 5001.
    expect(v4).toContainEqual(expect.objectContaining({ oldState: 2, newState: 7, dport: 5001 }));
  });

  it("reads IPv6 events with their compressed addresses", () => {
    const v6 = ours.filter((e) => e.family === 6);
    expect(v6.length).toBeGreaterThan(0);
    for (const e of v6) {
      expect(e.saddr).toBe("::1");
      expect(e.daddr).toMatch(/^(::1|::)$/);
    }
    expect(v6).toContainEqual(expect.objectContaining({ oldState: 10, newState: 7, sport: 5002 }));
  });

  it("shows the connecting socket's source port as 0 at CLOSE→SYN_SENT and the real one afterwards", () => {
    const connects = ours.filter((e) => e.oldState === 7 && e.newState === 2);
    expect(connects.length).toBe(5);
    for (const e of connects) expect(e.sport).toBe(0);
    const established = ours.filter((e) => e.oldState === 2 && e.newState === 1);
    for (const e of established) expect(e.sport).toBeGreaterThan(0);
  });
});

describe("parseProbeLine markers", () => {
  it("reads a flush begin and end with their sequence number", () => {
    expect(parseProbeLine("F 17")).toEqual({ type: "flush-begin", seq: 17, final: false });
    expect(parseProbeLine("E 17")).toEqual({ type: "flush-end", seq: 17, final: false });
  });

  it("reads a count of FIN_WAIT2 timewait socks made in a netns", () => {
    expect(parseProbeLine("@f2[4026532177]: 3")).toEqual({
      type: "fin-wait2-timewait",
      netns: 4026532177,
      count: 3,
    });
  });

  it("finds FIN_WAIT2 timewait socks in the capture only where FIN_WAIT2 → CLOSE was counted", () => {
    const made = parsedOfType(transitionsOutput, "fin-wait2-timewait").filter(
      (l) => l.netns === capture.netns,
    );
    const fin2Close = parsedOfType(transitionsOutput, "count")
      .filter((c) => c.netns === capture.netns && c.oldState === 5 && c.newState === 7)
      .reduce((sum, c) => sum + c.count, 0);
    const total = made.reduce((sum, l) => sum + l.count, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(fin2Close);
  });

  it("reads a tick's time (CLOCK_MONOTONIC µs) on a flush begin", () => {
    expect(parseProbeLine("F 17 8575825153")).toEqual({
      type: "flush-begin",
      seq: 17,
      final: false,
      tickUs: 8575825153,
    });
  });

  it("reads the ticks about one second apart", () => {
    const ticks = parsedOfType(transitionsOutput, "flush-begin").flatMap((b) => b.tickUs ?? []);
    expect(ticks.length).toBeGreaterThan(2);
    for (let i = 1; i < ticks.length; i++)
      expect(Math.abs((ticks[i] as number) - (ticks[i - 1] as number) - 1e6)).toBeLessThan(50_000);
  });

  it("reads the END flush as final", () => {
    expect(parseProbeLine("F 42 final")).toEqual({ type: "flush-begin", seq: 42, final: true });
    expect(parseProbeLine("E 42 final")).toEqual({ type: "flush-end", seq: 42, final: true });
  });

  it("reads the ready marker", () => {
    expect(parseProbeLine("R")).toEqual({ type: "ready" });
  });

  it('reads "Lost 12 events" as 12 lost output events', () => {
    expect(parseProbeLine("Lost 12 events")).toEqual({ type: "lost", events: 12 });
  });

  it('ignores blank lines and "Attaching 4 probes..."', () => {
    expect(parseProbeLine("")).toEqual({ type: "ignored" });
    expect(parseProbeLine("Attaching 4 probes...")).toEqual({ type: "ignored" });
  });

  it("reads a count line with a netns inode and cgroup id beyond 32 bits", () => {
    expect(parseProbeLine("@c1[4026531840, 4294967311, 1, 4]: 123456")).toEqual({
      type: "count",
      netns: 4026531840,
      cgroup: 4294967311,
      oldState: 1,
      newState: 4,
      count: 123456,
    });
  });

  it("reads an IPv4 and an IPv6 event line", () => {
    expect(parseProbeLine("T 4026532316 1 7 2 4 10.244.1.11 0 10.244.1.12 8080")).toEqual({
      type: "event",
      netns: 4026532316,
      cgroup: 1,
      oldState: 7,
      newState: 2,
      family: 4,
      saddr: "10.244.1.11",
      sport: 0,
      daddr: "10.244.1.12",
      dport: 8080,
    });
    expect(parseProbeLine("T 4026532177 7 1 8 6 fd00:244::12 5002 fd00:244::11 42804")).toEqual({
      type: "event",
      netns: 4026532177,
      cgroup: 7,
      oldState: 1,
      newState: 8,
      family: 6,
      saddr: "fd00:244::12",
      sport: 5002,
      daddr: "fd00:244::11",
      dport: 42804,
    });
  });
});

describe("parseProbeLine on malformed lines", () => {
  const cases: [string, string][] = [
    ["a map key cut short", "@c0[4026532177, 1, 4"],
    ["a map line cut before its count", "@c0[4026532177, 1, 4, 5]: "],
    ["a non-numeric count", "@c0[4026532177, 1, 4, 5]: many"],
    ["a count with trailing text", "@c0[4026532177, 1, 4, 5]: 3 x"],
    ["a map key with three fields", "@c0[4026532177, 1, 4]: 3"],
    ["a map key with a negative field", "@c0[4026532177, -1, 4, 5]: 3"],
    ["a map line without a key", "@epoch: 2"],
    ["garbage", "hello world"],
    ["binary garbage", "\u0000\u0001\u00ff"],
    ["an event with 9 fields", "T 4026532177 1 7 2 4 127.0.0.1 0 127.0.0.1"],
    ["an event with 11 fields", "T 4026532177 1 7 2 4 127.0.0.1 0 127.0.0.1 5000 extra"],
    ["an event with a non-numeric port", "T 4026532177 1 7 2 4 127.0.0.1 http 127.0.0.1 5000"],
    ["an event with family 5", "T 4026532177 1 7 2 5 127.0.0.1 0 127.0.0.1 5000"],
    ["an event with an empty field", "T 4026532177  7 2 4 127.0.0.1 0 127.0.0.1 5000"],
    ["text after the ready marker", "R extra"],
    ["a flush marker without a number", "F "],
    ["a flush marker without a space", "F1"],
    ["a flush marker with unknown trailing text", "E 3 finale"],
    ["a flush end with a tick time (only begins carry one)", "E 3 123"],
    ["a flush begin with a tick time and more", "F 3 123 x"],
    ["a netns count with two key fields", "@f0[1, 2]: 3"],
    ["a netns count without a count", "@f0[1]: "],
    ["a lost line without a number", "Lost many events"],
    ["a line starting like Lost but something else", "Loaded"],
    ["a line starting with A but not Attaching", "Aborted"],
  ];

  it.each(cases)("reports %s as malformed with a reason, keeping the line", (_what, line) => {
    let parsed: ProbeLine | undefined;
    expect(() => {
      parsed = parseProbeLine(line);
    }).not.toThrow();
    expect(parsed).toMatchObject({ type: "malformed", line });
    expect((parsed as Of<"malformed">).reason).toMatch(/\S/);
  });

  it("says which part of a truncated map key is wrong", () => {
    expect(parseProbeLine("@c0[4026532177, 1, 4")).toMatchObject({
      reason: expect.stringContaining("field 3"),
    });
  });

  it("says how many fields a wrong event line had", () => {
    expect(parseProbeLine("T 1 2 3")).toMatchObject({ reason: expect.stringContaining("found 4") });
  });

  it("parses a good line normally right after a malformed one", () => {
    parseProbeLine("@c0[4026532177, 1, 4");
    expect(parseProbeLine("@c0[5, 6, 7, 2]: 9")).toEqual({
      type: "count",
      netns: 5,
      cgroup: 6,
      oldState: 7,
      newState: 2,
      count: 9,
    });
  });
});
