import { describe, expect, it } from "vitest";
import { TcpState } from "../../../agent/probe/tcp-state.js";
import { NodeWindow, type WindowContext } from "../../../agent/window/node-window.js";
import { type Counters, zeroCounters } from "../../../agent/wire/counters.js";
import {
  NodeSummarySchema,
  type Owner,
  ownerKey,
  type PodEntry,
  type PodOwner,
} from "../../../agent/wire/summary.js";

const { CLOSE, SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, LISTEN, SYN_RECV } = TcpState;

const HOST_NETNS = 4026531840;
const NETNS_A = 4026532200;
const NETNS_B = 4026532300;

const pod = (name: string, uid: string): PodOwner => ({
  kind: "pod",
  namespace: "shop",
  name,
  uid,
  hostNetwork: false,
  workload: { kind: "Deployment", name: "web" },
  labels: { app: "web" },
});
const WEB = pod("web-7d9f8-abcde", "11111111-1111-4111-8111-111111111111");
const API = pod("api-0", "22222222-2222-4222-8222-222222222222");
const netnsOwner = (inode: number): Owner => ({ kind: "netns", name: `netns-${inode}` });

/** One client connection that closes first, as the kernel counts it: 7→2, 2→1, 1→4, 4→5, 5→7. */
function clientConnections(w: NodeWindow, netns: number, n: number): void {
  w.add(netns, CLOSE, SYN_SENT, n);
  w.add(netns, SYN_SENT, ESTABLISHED, n);
  w.add(netns, ESTABLISHED, FIN_WAIT1, n);
  w.add(netns, FIN_WAIT1, FIN_WAIT2, n);
  w.add(netns, FIN_WAIT2, CLOSE, n);
}
const clientCounters = (n: number): Counters => ({
  ...zeroCounters(),
  active_opens: n,
  established: n,
  closes: n,
  time_wait_entries: n,
});

interface Ctx {
  now?: number;
  owners?: Record<number, Owner>;
  alive?: number[];
  knownPods?: PodOwner[];
  alwaysReport?: number[];
}

function ctx({
  now = 0,
  owners = {},
  alive = [HOST_NETNS, NETNS_A, NETNS_B],
  knownPods = [],
  alwaysReport = [],
}: Ctx): WindowContext {
  return {
    node: "node-1",
    bootId: "boot-1",
    now,
    ownerOf: (inode) =>
      inode === HOST_NETNS ? { kind: "host", name: "host" } : (owners[inode] ?? netnsOwner(inode)),
    aliveNetns: new Set(alive),
    knownPods,
    alwaysReport,
    health: {
      bpftraceUp: true,
      bpftraceRestarts: 0,
      kernelMissed: 0,
      lostEvents: 0,
      parseErrors: 0,
      podListSynced: true,
    },
  };
}

const entryOf = (summary: { pods: PodEntry[] }, owner: Owner) =>
  summary.pods.find((p) => ownerKey(p.owner) === ownerKey(owner));

/** An entry without a gauge pass: no socket table read, no listeners, no destinations. */
const NO_GAUGES = {
  sockets: null,
  estimated: [],
  listeners: [],
  netnsCounters: null,
  topDestinations: { connects: [], timeWait: [] },
};

describe("NodeWindow: counts of a netns whose pod is not known yet", () => {
  it("reports them under a netns owner", () => {
    const w = new NodeWindow(0);
    clientConnections(w, NETNS_A, 3);
    const s = w.close(ctx({ now: 5000 }));
    expect(entryOf(s, netnsOwner(NETNS_A))).toEqual({
      owner: netnsOwner(NETNS_A),
      netns: [NETNS_A],
      window: clientCounters(3),
      total: clientCounters(3),
      ...NO_GAUGES,
    });
  });

  it("moves the same running total to the pod once the pod is known: nothing lost, nothing doubled", () => {
    const w = new NodeWindow(0);
    clientConnections(w, NETNS_A, 3);
    w.close(ctx({ now: 5000 }));
    clientConnections(w, NETNS_A, 2);
    const s = w.close(ctx({ now: 10_000, owners: { [NETNS_A]: WEB }, knownPods: [WEB] }));
    expect(entryOf(s, WEB)).toMatchObject({
      netns: [NETNS_A],
      window: clientCounters(2),
      total: clientCounters(5),
    });
    // The netns owner's series is gone: its counts are now the pod's, not counted twice.
    expect(entryOf(s, netnsOwner(NETNS_A))).toBeUndefined();
    expect(s.pods.reduce((sum, p) => sum + p.total.active_opens, 0)).toBe(5);
  });
});

describe("NodeWindow: windows and totals", () => {
  it("resets window counters at each close while totals keep growing", () => {
    const w = new NodeWindow(0);
    const owners = { [NETNS_A]: WEB };
    const seen: [number, number][] = [];
    for (const [i, n] of [4, 0, 7].entries()) {
      clientConnections(w, NETNS_A, n);
      const e = entryOf(w.close(ctx({ now: (i + 1) * 5000, owners, knownPods: [WEB] })), WEB);
      seen.push([e?.window.active_opens ?? -1, e?.total.active_opens ?? -1]);
    }
    expect(seen).toEqual([
      [4, 4],
      [0, 4],
      [7, 11],
    ]);
  });

  it("numbers windows and chains their start to the previous end", () => {
    const w = new NodeWindow(1000);
    const a = w.close(ctx({ now: 6000 }));
    const b = w.close(ctx({ now: 11_000 }));
    expect([a.seq, a.windowStart, a.windowEnd]).toEqual([0, 1000, 6000]);
    expect([b.seq, b.windowStart, b.windowEnd]).toEqual([1, 6000, 11_000]);
  });

  it("adds the counts of every netns a pod owns into the pod's entry", () => {
    const w = new NodeWindow(0);
    clientConnections(w, NETNS_A, 2);
    clientConnections(w, NETNS_B, 5);
    const s = w.close(ctx({ now: 5000, owners: { [NETNS_A]: WEB, [NETNS_B]: WEB }, knownPods: [WEB] }));
    const e = entryOf(s, WEB);
    expect(e?.window).toEqual(clientCounters(7));
    expect([...(e?.netns ?? [])].sort()).toEqual([NETNS_A, NETNS_B]);
  });

  it("reports known pods that made no transition, with zeros", () => {
    const w = new NodeWindow(0);
    const s = w.close(ctx({ now: 5000, knownPods: [WEB, API] }));
    const zeros = { netns: [], window: zeroCounters(), total: zeroCounters(), ...NO_GAUGES };
    expect(entryOf(s, API)).toEqual({ owner: API, ...zeros });
    expect(entryOf(s, WEB)).toEqual({ owner: WEB, ...zeros });
  });

  it("reports the host netns every window, idle or not, and what no pod owns as the host's", () => {
    const w = new NodeWindow(0);
    const idle = w.close(ctx({ now: 5000, alwaysReport: [HOST_NETNS] }));
    expect(entryOf(idle, { kind: "host", name: "host" })).toMatchObject({ window: zeroCounters() });
    clientConnections(w, HOST_NETNS, 1);
    const busy = w.close(ctx({ now: 10_000, alwaysReport: [HOST_NETNS] }));
    expect(entryOf(busy, { kind: "host", name: "host" })).toMatchObject({ window: clientCounters(1) });
  });

  it("produces summaries the wire schema accepts", () => {
    const w = new NodeWindow(0);
    clientConnections(w, NETNS_A, 1);
    clientConnections(w, NETNS_B, 1);
    w.add(HOST_NETNS, LISTEN, SYN_RECV, 1);
    const s = w.close(
      ctx({ now: 5000, owners: { [NETNS_A]: WEB }, knownPods: [WEB, API], alwaysReport: [HOST_NETNS] }),
    );
    expect(NodeSummarySchema.safeParse(s).success).toBe(true);
  });
});

describe("NodeWindow: network namespaces that end", () => {
  it("keeps reporting an alive netns that counted nothing", () => {
    const w = new NodeWindow(0);
    clientConnections(w, NETNS_B, 1);
    w.close(ctx({ now: 5000 }));
    const s = w.close(ctx({ now: 10_000 }));
    expect(entryOf(s, netnsOwner(NETNS_B))).toMatchObject({
      window: zeroCounters(),
      total: clientCounters(1),
    });
  });

  it("drops an entry whose netns is gone and that counted nothing (its series ends)", () => {
    const w = new NodeWindow(0);
    clientConnections(w, NETNS_B, 1);
    w.close(ctx({ now: 5000 }));
    const s = w.close(ctx({ now: 10_000, alive: [HOST_NETNS] }));
    expect(entryOf(s, netnsOwner(NETNS_B))).toBeUndefined();
    expect(s.pods).toEqual([]);
  });

  it("still gives late counts of a vanished netns to its last pod owner, then ends the series", () => {
    const w = new NodeWindow(0);
    clientConnections(w, NETNS_A, 2);
    w.close(ctx({ now: 5000, owners: { [NETNS_A]: WEB } }));
    // The pod is gone from the pod list and its netns has ended, but the kernel still counted its last closes.
    w.add(NETNS_A, FIN_WAIT2, CLOSE, 3);
    const late = w.close(ctx({ now: 10_000, alive: [HOST_NETNS] }));
    expect(entryOf(late, netnsOwner(NETNS_A))).toBeUndefined();
    expect(entryOf(late, WEB)).toMatchObject({
      window: { ...zeroCounters(), closes: 3, time_wait_entries: 3 },
      total: { ...clientCounters(2), closes: 5, time_wait_entries: 5 },
    });
    expect(late.health.attributedTransitions).toBe(3);
    const after = w.close(ctx({ now: 15_000, alive: [HOST_NETNS] }));
    expect(after.pods).toEqual([]);
  });

  it("starts a new running total when a netns inode is reused by another pod", () => {
    const w = new NodeWindow(0);
    clientConnections(w, NETNS_A, 4);
    w.close(ctx({ now: 5000, owners: { [NETNS_A]: WEB } }));
    clientConnections(w, NETNS_A, 1);
    const s = w.close(ctx({ now: 10_000, owners: { [NETNS_A]: API } }));
    expect(entryOf(s, API)).toMatchObject({ window: clientCounters(1), total: clientCounters(1) });
    expect(entryOf(s, WEB)).toBeUndefined();
  });

  // A completed Job pod, a Terminating pod or a recreated sandbox is still listed after its netns ended.
  it("keeps a listed pod's running total after its netns has ended", () => {
    const w = new NodeWindow(0);
    clientConnections(w, NETNS_A, 4);
    const before = w.close(ctx({ now: 5000, owners: { [NETNS_A]: WEB }, knownPods: [WEB] }));
    expect(entryOf(before, WEB)?.total).toEqual(clientCounters(4));
    // The pod's netns is gone (e.g. the Job completed), the pod object is still listed.
    const after = w.close(ctx({ now: 10_000, alive: [HOST_NETNS], knownPods: [WEB] }));
    expect(entryOf(after, WEB)?.window).toEqual(zeroCounters());
    expect(entryOf(after, WEB)?.total).toEqual(clientCounters(4));
  });
});

describe("NodeWindow: completeness and attribution", () => {
  it("marks a window incomplete with its reasons, each once, and the next window complete again", () => {
    const w = new NodeWindow(0);
    w.markIncomplete("kernel flushes 3..3 were not received");
    w.markIncomplete("bpftrace lost 12 output events");
    w.markIncomplete("kernel flushes 3..3 were not received");
    const bad = w.close(ctx({ now: 5000 }));
    expect(bad.complete).toBe(false);
    expect(bad.incompleteReasons).toEqual([
      "kernel flushes 3..3 were not received",
      "bpftrace lost 12 output events",
    ]);
    const good = w.close(ctx({ now: 10_000 }));
    expect(good.complete).toBe(true);
    expect(good.incompleteReasons).toEqual([]);
    // The earlier summary keeps its reasons.
    expect(bad.incompleteReasons).toHaveLength(2);
  });

  it("reports the share of the window's transitions attributed to pods", () => {
    const w = new NodeWindow(0);
    clientConnections(w, NETNS_A, 3); // 15 transitions, the pod's
    clientConnections(w, NETNS_B, 1); // 5 transitions, unknown netns
    const s = w.close(ctx({ now: 5000, owners: { [NETNS_A]: WEB }, knownPods: [WEB] }));
    expect(s.health.transitions).toBe(20);
    expect(s.health.attributedTransitions).toBe(15);
    expect(s.health.attributedShare).toBe(0.75);
  });

  it("counts the host's transitions as not attributed to a pod", () => {
    const w = new NodeWindow(0);
    clientConnections(w, HOST_NETNS, 1);
    const s = w.close(ctx({ now: 5000 }));
    expect(s.health).toMatchObject({ transitions: 5, attributedTransitions: 0, attributedShare: 0 });
  });

  it("reports a window without transitions as fully attributed", () => {
    const s = new NodeWindow(0).close(ctx({ now: 5000 }));
    expect(s.health).toMatchObject({ transitions: 0, attributedTransitions: 0, attributedShare: 1 });
  });

  it("passes the node's health through", () => {
    const c = ctx({ now: 5000 });
    c.health = { ...c.health, bpftraceRestarts: 2, kernelMissed: 113, lostEvents: 7, parseErrors: 1 };
    const s = new NodeWindow(0).close(c);
    expect(s.health).toMatchObject({ bpftraceRestarts: 2, kernelMissed: 113, lostEvents: 7, parseErrors: 1 });
    expect([s.node, s.bootId]).toEqual(["node-1", "boot-1"]);
  });
});

describe("NodeWindow: an agent's first window", () => {
  it("starts when counting began (the probes attached), so the gap since the previous agent shows; only the first", () => {
    const w = new NodeWindow(1000);
    w.startFirstWindowAt(3800);
    clientConnections(w, NETNS_A, 2);
    const first = w.close(ctx({ now: 6000 }));
    expect([first.windowStart, first.windowEnd]).toEqual([3800, 6000]);
    w.startFirstWindowAt(9000); // a bpftrace restart later: windows stay back to back
    const second = w.close(ctx({ now: 11_000 }));
    expect([second.windowStart, second.windowEnd]).toEqual([6000, 11_000]);
  });
});
