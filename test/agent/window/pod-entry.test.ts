import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { NetnsGauges } from "../../../agent/gauges/netns-gauges.js";
import { parseSsTable } from "../../../agent/gauges/socket-table.js";
import {
  addNetns,
  finishEntry,
  newEntryParts,
  TOP_DESTINATIONS,
  topK,
} from "../../../agent/window/pod-entry.js";
import { zeroCounters } from "../../../agent/wire/counters.js";
import { GAUGE_STATES, NETNS_COUNTERS, type NetnsCounters, zeroGauges } from "../../../agent/wire/gauges.js";
import { type Counters, type Owner, PodEntrySchema } from "../../../agent/wire/summary.js";

/* ss-Htan.txt: real `ss -Htan` of a test network namespace (test/fixtures/ss/capture.sh). */
const ssTable = parseSsTable(readFileSync(new URL("../../fixtures/ss/ss-Htan.txt", import.meta.url), "utf8"));

const POD: Owner = {
  kind: "pod",
  namespace: "shop",
  name: "cart-7d9f8-abcde",
  uid: "1f4b1a8c-3d2e-4c5b-9a8f-0e1d2c3b4a59",
  hostNetwork: false,
  workload: { kind: "Deployment", name: "cart" },
  labels: { app: "cart" },
};

const zeroDeltas = (): NetnsCounters =>
  Object.fromEntries(Object.keys(NETNS_COUNTERS).map((k) => [k, 0])) as NetnsCounters;

function gauges(over: Partial<NetnsGauges> = {}): NetnsGauges {
  return {
    sockets: zeroGauges(),
    listeners: [],
    timeWaitByPeer: new Map(),
    counterDeltas: zeroDeltas(),
    tableRead: true,
    ...over,
  };
}

const counters = (over: Partial<Counters> = {}): Counters => ({ ...zeroCounters(), ...over });

/** `n` endpoints "10.0.0.<i>:80" with counts from `count(i)`. */
const endpoints = (n: number, count: (i: number) => number) =>
  new Map(Array.from({ length: n }, (_, i) => [`10.0.0.${i + 1}:80`, count(i)] as [string, number]));

describe("topK: the K largest counts", () => {
  it("orders by count, largest first", () => {
    const counts = new Map([
      ["10.0.0.1:80", 2],
      ["10.0.0.2:80", 9],
      ["[fd00::1]:443", 5],
    ]);
    expect(topK(counts, 10)).toEqual([
      { endpoint: "10.0.0.2:80", count: 9 },
      { endpoint: "[fd00::1]:443", count: 5 },
      { endpoint: "10.0.0.1:80", count: 2 },
    ]);
  });

  it("breaks ties by endpoint, whatever order the map was filled in", () => {
    const entries: [string, number][] = [
      ["10.0.0.9:80", 3],
      ["10.0.0.10:80", 3],
      ["[::1]:80", 3],
      ["10.0.0.1:443", 7],
    ];
    const forward = topK(new Map(entries), 10);
    const backward = topK(new Map([...entries].reverse()), 10);
    expect(forward).toEqual(backward);
    expect(forward.map((d) => d.endpoint)).toEqual([
      "10.0.0.1:443",
      "10.0.0.10:80",
      "10.0.0.9:80",
      "[::1]:80",
    ]);
  });

  it("keeps at most K, the largest ones", () => {
    const top = topK(
      endpoints(25, (i) => i + 1),
      TOP_DESTINATIONS,
    );
    expect(top).toHaveLength(TOP_DESTINATIONS);
    expect(top[0]).toEqual({ endpoint: "10.0.0.25:80", count: 25 });
    expect(top.at(-1)?.count).toBe(25 - TOP_DESTINATIONS + 1);
  });

  it("decides which of tied counts at the bound are kept by endpoint", () => {
    const top = topK(
      endpoints(5, () => 1),
      2,
    );
    expect(top.map((d) => d.endpoint)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
  });

  it("returns all when there are fewer than K, nothing for K = 0 or no counts", () => {
    expect(
      topK(
        endpoints(3, () => 1),
        10,
      ),
    ).toHaveLength(3);
    expect(
      topK(
        endpoints(3, () => 1),
        0,
      ),
    ).toEqual([]);
    expect(topK(new Map(), 10)).toEqual([]);
  });

  it("does not change the map it ranks", () => {
    const counts = endpoints(12, (i) => i);
    const before = [...counts];
    topK(counts, 3);
    expect([...counts]).toEqual(before);
  });
});

describe("addNetns: a netns of the owner joins its entry", () => {
  it("adds each netns once, with its gauges only the first time", () => {
    const parts = newEntryParts(POD);
    const g = gauges({ sockets: { ...zeroGauges(), ESTABLISHED: 2 } });
    addNetns(parts, 1, counters(), undefined, g);
    addNetns(parts, 1, counters(), undefined, g);
    addNetns(parts, 2, counters(), undefined, undefined);
    expect(parts.netns).toEqual([1, 2]);
    expect(parts.gauges).toEqual([g]);
  });

  it("sums window counters and connects whether or not the netns is known", () => {
    const parts = newEntryParts(POD);
    addNetns(parts, 1, counters({ active_opens: 2 }), new Map([["10.0.0.1:80", 2]]), undefined);
    addNetns(parts, null, counters({ active_opens: 1, closes: 4 }), new Map([["10.0.0.1:80", 1]]), undefined);
    expect(parts.netns).toEqual([1]);
    expect(parts.window).toEqual(counters({ active_opens: 3, closes: 4 }));
    expect(parts.connects).toEqual(new Map([["10.0.0.1:80", 3]]));
  });
});

describe("finishEntry: one owner's entry from the netns it spans", () => {
  it("sums socket gauges state by state across the owner's netns", () => {
    const parts = newEntryParts(POD);
    addNetns(parts, 1, counters(), undefined, gauges({ sockets: ssTable.gauges }));
    addNetns(
      parts,
      2,
      counters(),
      undefined,
      gauges({ sockets: { ...zeroGauges(), ESTABLISHED: 3, TIME_WAIT: 40, LISTEN: 1 } }),
    );
    const entry = finishEntry(parts, counters());
    const expected = Object.fromEntries(GAUGE_STATES.map((s) => [s, ssTable.gauges[s]]));
    expected.ESTABLISHED = (expected.ESTABLISHED as number) + 3;
    expected.TIME_WAIT = (expected.TIME_WAIT as number) + 40;
    expected.LISTEN = (expected.LISTEN as number) + 1;
    expect(entry.sockets).toEqual(expected);
  });

  it("lists the listeners of every netns", () => {
    const parts = newEntryParts(POD);
    const other = { address: "10.1.2.3", port: 9090, acceptQueue: 1, backlog: 511, synQueue: 0 };
    addNetns(parts, 1, counters(), undefined, gauges({ listeners: ssTable.listeners }));
    addNetns(parts, 2, counters(), undefined, gauges({ listeners: [other] }));
    expect(finishEntry(parts, counters()).listeners).toEqual([...ssTable.listeners, other]);
  });

  it("sums netns counter deltas across the owner's netns", () => {
    const parts = newEntryParts(POD);
    addNetns(
      parts,
      1,
      counters(),
      undefined,
      gauges({ counterDeltas: { ...zeroDeltas(), listen_overflows: 2, in_segs: 100 } }),
    );
    addNetns(
      parts,
      2,
      counters(),
      undefined,
      gauges({ counterDeltas: { ...zeroDeltas(), listen_overflows: 1, syncookies_sent: 5 } }),
    );
    expect(finishEntry(parts, counters()).netnsCounters).toEqual({
      ...zeroDeltas(),
      listen_overflows: 3,
      in_segs: 100,
      syncookies_sent: 5,
    });
  });

  it("reports sockets and netns counters as null when no netns of the owner had gauges", () => {
    const parts = newEntryParts(POD);
    addNetns(parts, 1, counters({ active_opens: 1 }), undefined, undefined);
    const entry = finishEntry(parts, counters({ active_opens: 5 }));
    expect(entry.sockets).toBeNull();
    expect(entry.netnsCounters).toBeNull();
    expect(entry.listeners).toEqual([]);
    expect(entry.topDestinations.timeWait).toEqual([]);
  });

  it("sums netns counters only over netns that have their own (null for a pod sharing another's netns)", () => {
    const shared = newEntryParts(POD);
    addNetns(shared, 1, counters(), undefined, gauges({ counterDeltas: null }));
    const sharedEntry = finishEntry(shared, counters());
    expect(sharedEntry.sockets).toEqual(zeroGauges());
    expect(sharedEntry.netnsCounters).toBeNull();

    const mixed = newEntryParts(POD);
    addNetns(mixed, 1, counters(), undefined, gauges({ counterDeltas: null }));
    addNetns(
      mixed,
      2,
      counters(),
      undefined,
      gauges({ counterDeltas: { ...zeroDeltas(), listen_drops: 2 } }),
    );
    expect(finishEntry(mixed, counters()).netnsCounters).toEqual({ ...zeroDeltas(), listen_drops: 2 });
  });

  it("lists each estimated state once across the owner's netns", () => {
    const parts = newEntryParts(POD);
    addNetns(parts, 1, counters(), undefined, gauges({ estimated: ["TIME_WAIT"] }));
    addNetns(parts, 2, counters(), undefined, gauges({ estimated: ["TIME_WAIT"] }));
    addNetns(parts, 3, counters(), undefined, gauges());
    expect(finishEntry(parts, counters()).estimated).toEqual(["TIME_WAIT"]);
  });

  it("reports zero gauges, not null, for a netns whose gauges are all zero", () => {
    const parts = newEntryParts(POD);
    addNetns(parts, 1, counters(), undefined, gauges());
    const entry = finishEntry(parts, counters());
    expect(entry.sockets).toEqual(zeroGauges());
    expect(entry.netnsCounters).toEqual(zeroDeltas());
  });

  it("merges TIME_WAIT peers across netns before keeping the top TOP_DESTINATIONS", () => {
    // 10.0.0.99:80 is never first in one netns, but first once both are added.
    const a = endpoints(TOP_DESTINATIONS, () => 10);
    a.set("10.0.0.99:80", 8);
    const b = new Map([
      ["10.0.0.99:80", 8],
      ["10.0.0.200:80", 9],
    ]);
    const parts = newEntryParts(POD);
    addNetns(parts, 1, counters(), undefined, gauges({ timeWaitByPeer: a }));
    addNetns(parts, 2, counters(), undefined, gauges({ timeWaitByPeer: b }));
    const timeWait = finishEntry(parts, counters()).topDestinations.timeWait;
    expect(timeWait).toHaveLength(TOP_DESTINATIONS);
    expect(timeWait[0]).toEqual({ endpoint: "10.0.0.99:80", count: 16 });
    expect(timeWait.some((d) => d.endpoint === "10.0.0.200:80")).toBe(false);
  });

  it("keeps the top TOP_DESTINATIONS connect destinations", () => {
    const parts = newEntryParts(POD);
    addNetns(
      parts,
      1,
      counters(),
      endpoints(3 * TOP_DESTINATIONS, (i) => i + 1),
      undefined,
    );
    const connects = finishEntry(parts, counters()).topDestinations.connects;
    expect(connects).toHaveLength(TOP_DESTINATIONS);
    expect(connects[0]).toEqual({
      endpoint: `10.0.0.${3 * TOP_DESTINATIONS}:80`,
      count: 3 * TOP_DESTINATIONS,
    });
  });

  it("takes the real fixture's TIME_WAIT peers as they are", () => {
    const parts = newEntryParts(POD);
    addNetns(parts, 1, counters(), undefined, gauges({ timeWaitByPeer: ssTable.timeWaitByPeer }));
    expect(finishEntry(parts, counters()).topDestinations.timeWait).toEqual([
      { endpoint: "10.99.0.1:8080", count: 4 },
      { endpoint: "[::1]:8443", count: 2 },
    ]);
  });

  it("copies the running total, so later additions to it do not change the entry", () => {
    const total = counters({ closes: 3 });
    const entry = finishEntry(newEntryParts(POD), total);
    total.closes = 99;
    expect(entry.total).toEqual(counters({ closes: 3 }));
  });

  it("produces an entry the wire schema accepts", () => {
    const parts = newEntryParts(POD);
    addNetns(
      parts,
      4026532001,
      counters({ active_opens: 2 }),
      new Map([["10.0.0.1:80", 2]]),
      gauges({
        sockets: ssTable.gauges,
        listeners: ssTable.listeners,
        timeWaitByPeer: ssTable.timeWaitByPeer,
      }),
    );
    const entry = finishEntry(parts, counters({ active_opens: 7 }));
    expect(PodEntrySchema.parse(entry)).toEqual(entry);
    expect(entry.owner).toBe(POD);
    expect(entry.netns).toEqual([4026532001]);
    expect(entry.estimated).toEqual([]);
  });
});
