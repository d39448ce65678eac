import { describe, expect, it } from "vitest";
import { AlertEngine } from "../../../collector/alerts/alert-engine.js";
import type { AlertEvent } from "../../../collector/alerts/alert-event.js";
import { parseRulesFile, type RulesConfig } from "../../../collector/alerts/rules-file.js";
import { nodeWindow, type PodWindow, podA, podB, podC, T0 } from "./alert-windows.js";

/** Rules from YAML, all five on with 1 s-friendly timings unless the text says otherwise. */
function rules(yaml: string): RulesConfig {
  return parseRulesFile("test.yaml", yaml);
}

const FAST = `rules:
  TimeWaitBuildup: {for: 3s, holdDown: 2s, floor: 500, factor: 4, baselineWindow: 60s, coldStartFloor: 2500}
  SynRecvBuildup: {for: 2s, holdDown: 2s, floor: 50, factor: 4, baselineWindow: 60s}
  EphemeralPortPressure: {for: 2s, holdDown: 0s, ratio: 0.5, portRange: "1000-1999"}
  ConnectionChurnSpike: {for: 2s, holdDown: 0s, floor: 100, factor: 5, baselineWindow: 60s}
  CloseWaitLeak: {for: 5s, holdDown: 0s, floor: 20}
`;

function engineWith(yaml = FAST) {
  const engine = new AlertEngine(rules(yaml));
  const events: AlertEvent[] = [];
  engine.onEvent((e) => events.push(e));
  /** Feeds node-1's windows from..to (exclusive), each with the pods `at(seq)` returns. */
  const feed = (from: number, to: number, at: (seq: number) => PodWindow[], node = "node-1") => {
    for (let seq = from; seq < to; seq++) engine.apply(nodeWindow(node, seq, at(seq)));
  };
  const log = () => events.map((e) => `${e.labels.alertname}/${e.labels.pod}:${e.status}`);
  return { engine, events, feed, log };
}

const sec = (seq: number) => new Date(T0 + (seq + 1) * 1000).toISOString();

describe("alert engine: TimeWaitBuildup", () => {
  it("fires after `for` when TIME_WAIT jumps above floor and factor × baseline, with labels and numbers", () => {
    const { engine, events, feed } = engineWith();
    feed(0, 30, () => [
      { owner: podA, sockets: { TIME_WAIT: 100 } },
      { owner: podC, sockets: { TIME_WAIT: 10 } },
    ]);
    feed(30, 33, () => [
      { owner: podA, sockets: { TIME_WAIT: 3000 } },
      { owner: podC, sockets: { TIME_WAIT: 10 } },
    ]);
    // Half the 60 s baseline window is history: the baseline counts. Pending from window 30, firing 3 s later.
    expect(events).toEqual([]);
    expect(engine.list("pending")).toHaveLength(1);
    feed(33, 34, () => [
      { owner: podA, sockets: { TIME_WAIT: 3000 } },
      { owner: podC, sockets: { TIME_WAIT: 10 } },
    ]);
    expect(events).toHaveLength(1);
    const e = events[0] as AlertEvent;
    expect(e).toMatchObject({
      status: "firing",
      labels: {
        alertname: "TimeWaitBuildup",
        severity: "warning",
        namespace: "payments",
        pod: "a",
        workload: "Deployment/api",
        node: "node-1",
      },
      startsAt: sec(30),
      firedAt: sec(33),
      endsAt: null,
      value: 3000,
    });
    expect(e.annotations.summary).toContain("payments/a");
    expect(e.annotations.description).toContain("TIME_WAIT 3000");
    expect(e.annotations.description).toContain("baseline 100");
    expect(engine.list("firing").map((a) => a.labels.pod)).toEqual(["a"]);
  });

  it("does not fire for a steady pod above the floor: its baseline is its own level", () => {
    const { events, feed } = engineWith();
    feed(0, 30, () => [{ owner: podC, sockets: { TIME_WAIT: 2000 + (Math.random() < 0.5 ? 50 : -50) } }]);
    expect(events).toEqual([]);
  });

  it("does not fire below the floor however steep the rise against the baseline", () => {
    const { engine, feed } = engineWith();
    feed(0, 10, () => [{ owner: podA, sockets: { TIME_WAIT: 1 } }]);
    feed(10, 20, () => [{ owner: podA, sockets: { TIME_WAIT: 499 } }]);
    expect(engine.list("all")).toEqual([]);
  });

  it("does not fire when above the floor but under factor × baseline", () => {
    const { engine, feed } = engineWith();
    feed(0, 30, () => [{ owner: podA, sockets: { TIME_WAIT: 1000 } }]);
    feed(30, 40, () => [{ owner: podA, sockets: { TIME_WAIT: 3999 } }]);
    expect(engine.list("all")).toEqual([]);
    feed(40, 41, () => [{ owner: podA, sockets: { TIME_WAIT: 4000 } }]);
    expect(engine.list("pending")).toHaveLength(1);
  });

  it("resolves after the hold-down once TIME_WAIT drains, with endsAt and the same startsAt", () => {
    const { events, feed, log } = engineWith();
    feed(0, 30, () => [{ owner: podA, sockets: { TIME_WAIT: 0 } }]);
    feed(30, 40, () => [{ owner: podA, sockets: { TIME_WAIT: 3000 } }]);
    feed(40, 41, () => [{ owner: podA, sockets: { TIME_WAIT: 0 } }]);
    feed(41, 42, () => [{ owner: podA, sockets: { TIME_WAIT: 3000 } }]); // back within the hold-down
    feed(42, 44, () => [{ owner: podA, sockets: { TIME_WAIT: 0 } }]);
    expect(log()).toEqual(["TimeWaitBuildup/a:firing"]);
    feed(44, 45, () => [{ owner: podA, sockets: { TIME_WAIT: 0 } }]);
    expect(log()).toEqual(["TimeWaitBuildup/a:firing", "TimeWaitBuildup/a:resolved"]);
    expect(events[1]).toMatchObject({
      startsAt: sec(30),
      endsAt: sec(44),
      fingerprint: events[0]?.fingerprint,
    });
  });

  it("keeps the state when a window has no gauges for the pod", () => {
    const { engine, feed } = engineWith();
    feed(0, 5, () => [{ owner: podA, sockets: { TIME_WAIT: 0 } }]);
    feed(5, 6, () => [{ owner: podA, sockets: { TIME_WAIT: 3000 } }]);
    feed(6, 20, () => [{ owner: podA, sockets: null }]);
    expect(engine.list("pending")).toHaveLength(1);
  });
});

describe("alert engine: SynRecvBuildup", () => {
  const listeners = [
    { address: "10.0.0.2", port: 8080, acceptQueue: 0, backlog: 511, synQueue: 2 },
    { address: "10.0.0.2", port: 9090, acceptQueue: 0, backlog: 511, synQueue: 150 },
  ];

  it("fires naming the listener with the largest SYN queue", () => {
    const { events, feed } = engineWith();
    feed(0, 5, () => [{ owner: podB, sockets: { SYN_RECV: 0 } }]);
    feed(5, 8, () => [{ owner: podB, sockets: { SYN_RECV: 152 }, listeners }]);
    expect(events.map((e) => [e.labels.alertname, e.labels.port, e.labels.severity])).toEqual([
      ["SynRecvBuildup", "9090", "critical"],
    ]);
    expect(events[0]?.annotations.description).toContain("port 9090: SYN queue 150");
  });

  it("also fires on listen overflows or SYN cookies with SYN_RECV under the floor", () => {
    const { events, feed } = engineWith();
    feed(0, 5, () => [
      { owner: podB, sockets: { SYN_RECV: 3 }, listeners, netnsCounters: { syncookies_sent: 40 } },
    ]);
    expect(events.map((e) => e.labels.alertname)).toEqual(["SynRecvBuildup"]);
    expect(events[0]?.annotations.description).toContain("SYN cookies sent 40");
  });
});

describe("alert engine: the other rules", () => {
  it("EphemeralPortPressure per destination at ratio × range size (not on ESTABLISHED yet)", () => {
    const { events, feed } = engineWith();
    feed(0, 4, () => [
      {
        owner: podA,
        sockets: { TIME_WAIT: 900 },
        timeWait: [
          { endpoint: "10.0.0.9:5432", count: 500 },
          { endpoint: "10.0.0.8:80", count: 499 },
        ],
      },
    ]);
    const pressure = events.filter((e) => e.labels.alertname === "EphemeralPortPressure");
    expect(pressure.map((e) => e.labels.destination)).toEqual(["10.0.0.9:5432"]);
    expect(pressure[0]?.labels.severity).toBe("critical");
    expect(pressure[0]?.annotations.description).toContain("not counted");
  });

  it("ConnectionChurnSpike on (active + passive opens) per second against its baseline", () => {
    const { events, feed } = engineWith();
    feed(0, 10, () => [{ owner: podC, window: { active_opens: 30, passive_opens: 10 } }]);
    feed(10, 13, () => [{ owner: podC, window: { active_opens: 150, passive_opens: 49 } }]);
    expect(events).toEqual([]); // 199/s < 5 × 40/s
    feed(13, 16, () => [{ owner: podC, window: { active_opens: 150, passive_opens: 60 } }]);
    expect(events.map((e) => [e.labels.alertname, e.value])).toEqual([["ConnectionChurnSpike", 210]]);
  });

  it("CloseWaitLeak fires when CLOSE_WAIT stays at or above the floor and never decreases for `for`", () => {
    const { events, feed } = engineWith();
    feed(0, 4, (s) => [{ owner: podB, sockets: { CLOSE_WAIT: 20 + s } }]);
    feed(4, 5, () => [{ owner: podB, sockets: { CLOSE_WAIT: 22 } }]); // a decrease: starts over
    feed(5, 10, (s) => [{ owner: podB, sockets: { CLOSE_WAIT: 22 + s } }]);
    expect(events).toEqual([]);
    feed(10, 11, () => [{ owner: podB, sockets: { CLOSE_WAIT: 40 } }]);
    expect(events.map((e) => e.labels.alertname)).toEqual(["CloseWaitLeak"]);
  });
});

describe("alert engine: scope, reload, gone pods, replay", () => {
  // Above the default cold-start floor (10,000): fires from the first minutes.
  const burst = (seq: number): PodWindow[] => [
    { owner: podA, sockets: { TIME_WAIT: seq < 3 ? 0 : 15000 } },
    { owner: podB, sockets: { TIME_WAIT: seq < 3 ? 0 : 15000 } },
    { owner: podC, sockets: { TIME_WAIT: seq < 3 ? 0 : 15000 } },
  ];

  it("scopes rules by namespace globs, excludes, workloads and pod labels", () => {
    const { feed, log } = engineWith(`rules:
  TimeWaitBuildup: {for: 0s, scope: {namespaces: ["pay*", "shop", "kube-*"], excludeNamespaces: ["kube-system"], workloads: ["Deployment/api*"]}}
`);
    feed(0, 5, burst);
    expect(log()).toEqual(["TimeWaitBuildup/a:firing"]);
  });

  it("a disabled rule does not fire; disabling it by reload resolves its alerts at once", () => {
    const { engine, feed, log } = engineWith("rules:\n  TimeWaitBuildup: {for: 0s, enabled: false}\n");
    feed(0, 5, (s) => burst(s).slice(0, 1));
    expect(log()).toEqual([]);
    engine.setRules(rules("rules:\n  TimeWaitBuildup: {for: 0s}\n"));
    feed(5, 6, (s) => burst(s).slice(0, 1));
    engine.setRules(rules("rules:\n  TimeWaitBuildup: {for: 0s, enabled: false}\n"));
    feed(6, 7, (s) => burst(s).slice(0, 1));
    expect(log()).toEqual(["TimeWaitBuildup/a:firing", "TimeWaitBuildup/a:resolved"]);
  });

  it("a pod that leaves its node's summaries resolves at once; a node gone silent resolves after staleAfter", () => {
    const engine = new AlertEngine(rules("rules:\n  TimeWaitBuildup: {for: 0s}\n"), {
      staleAfterMs: 10_000,
      resolvedRetentionMs: 60_000,
    });
    const events: AlertEvent[] = [];
    engine.onEvent((e) => events.push(e));
    for (let seq = 0; seq < 5; seq++) {
      engine.apply(nodeWindow("node-1", seq, burst(seq).slice(0, 2)));
      engine.apply(nodeWindow("node-2", seq, burst(seq).slice(2)));
    }
    engine.apply(nodeWindow("node-1", 5, burst(5).slice(0, 1))); // b is gone
    expect(events.map((e) => `${e.labels.pod}:${e.status}`)).toEqual([
      "a:firing",
      "b:firing",
      "c:firing",
      "b:resolved",
    ]);
    for (let seq = 6; seq < 30; seq++) engine.apply(nodeWindow("node-1", seq, burst(seq).slice(0, 1))); // node-2 silent
    expect(events.map((e) => `${e.labels.pod}:${e.status}`).slice(4)).toEqual(["c:resolved"]);
    expect(engine.list("firing").map((a) => a.labels.pod)).toEqual(["a"]);
    expect(engine.resolvedEvents().map((e) => e.labels.pod)).toEqual(["b", "c"]);
  });

  it("evaluates a standalone agent's netns, not a netns next to real pods (not known as a pod's yet, or no pod's)", () => {
    const { feed, log } = engineWith("rules:\n  TimeWaitBuildup: {for: 0s}\n");
    const netns = { kind: "netns" as const, name: "netns-4026532999" };
    const host = { kind: "host" as const, name: "host" as const };
    feed(0, 5, (s) => [
      { owner: netns, sockets: { TIME_WAIT: s < 3 ? 0 : 15000 } },
      { owner: host, sockets: { TIME_WAIT: s < 3 ? 0 : 15000 } },
    ]);
    feed(
      0,
      5,
      (s) => [{ owner: netns, sockets: { TIME_WAIT: s < 3 ? 0 : 15000 } }, ...burst(s).slice(0, 1)],
      "node-2",
    );
    expect(log()).toEqual(["TimeWaitBuildup/netns-4026532999:firing", "TimeWaitBuildup/a:firing"]);
  });

  it("a summary whose pod list is not synced yet does not end pods it does not list", () => {
    const { engine } = engineWith("rules:\n  TimeWaitBuildup: {for: 0s}\n");
    for (let seq = 0; seq < 5; seq++) engine.apply(nodeWindow("node-1", seq, burst(seq).slice(0, 1)));
    engine.apply(nodeWindow("node-1", 5, [], { podListSynced: false, bootId: "second" }));
    expect(engine.list("firing")).toHaveLength(1);
  });

  it("replaying the same windows rebuilds the same alerts (fingerprints, startsAt, state)", () => {
    const windows = Array.from({ length: 40 }, (_, seq) =>
      nodeWindow("node-1", seq, [
        { owner: podA, sockets: { TIME_WAIT: seq > 10 && seq < 30 ? 3000 : 10 } },
        { owner: podB, sockets: { SYN_RECV: seq > 20 ? 300 : 0 } },
      ]),
    );
    const run = (n: number) => {
      const e = new AlertEngine(rules(FAST));
      const events: AlertEvent[] = [];
      e.onEvent((x) => events.push(x));
      for (const w of windows.slice(0, n)) e.apply(w);
      return { list: e.list("all"), events };
    };
    const first = run(40);
    const second = run(40);
    expect(second).toEqual(first);
    expect(first.list.map((a) => [a.labels.alertname, a.state])).toEqual([["SynRecvBuildup", "firing"]]);
    expect(first.events.map((e) => `${e.labels.alertname}:${e.status}`)).toEqual([
      "TimeWaitBuildup:firing",
      "SynRecvBuildup:firing",
      "TimeWaitBuildup:resolved",
    ]);
  });

  it("a late window does not move an alert back in time", () => {
    const { engine } = engineWith();
    const tw = (seq: number) => [{ owner: podA, sockets: { TIME_WAIT: seq < 20 ? 0 : 5000 } }];
    for (let seq = 0; seq < 25; seq++) engine.apply(nodeWindow("node-1", seq, tw(seq)));
    expect(engine.list("firing")).toHaveLength(1);
    engine.apply(nodeWindow("node-1", 23, [{ owner: podA, sockets: { TIME_WAIT: 0 } }], { bootId: "late" }));
    engine.apply(nodeWindow("node-1", 24, [{ owner: podA, sockets: { TIME_WAIT: 0 } }], { bootId: "late" }));
    engine.apply(nodeWindow("node-1", 25, tw(25)));
    expect(engine.list("firing")).toHaveLength(1);
  });
});

describe("alert engine: hostile names", () => {
  it("sends no control character in labels or annotations, whatever a summary names the pod", () => {
    const { events, feed } = engineWith();
    const hostile = { ...podA, name: "a\r\nX-Forged: 1\u001b[2J\u009b" } as typeof podA;
    feed(0, 10, () => [{ owner: hostile, sockets: { TIME_WAIT: 100 } }]);
    feed(10, 14, () => [{ owner: hostile, sockets: { TIME_WAIT: 3000 } }]);
    const e = events[0] as AlertEvent;
    expect(e.labels.pod).toBe("a  X-Forged: 1 [2J ");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be absent
    const control = /[\u0000-\u001f\u007f-\u009f]/;
    for (const text of [...Object.values(e.labels), ...Object.values(e.annotations)])
      expect(text).not.toMatch(control);
  });
});
