/** TimeWaitBuildup and SynRecvBuildup with the default thresholds: cold start, danger level, baseline, ramp. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AlertEngine } from "../../../collector/alerts/alert-engine.js";
import type { AlertEvent } from "../../../collector/alerts/alert-event.js";
import { defaultRules, parseRulesFile, type RulesConfig } from "../../../collector/alerts/rules-file.js";
import { nodeWindow, type PodWindow, podA, podB, T0 } from "./alert-windows.js";

const MIN = 60_000;

/** An engine fed windows of `intervalMs`; `feed` runs windows from..to (exclusive). */
function engineWith(rules: RulesConfig, intervalMs: number) {
  const engine = new AlertEngine(rules);
  const events: AlertEvent[] = [];
  engine.onEvent((e) => events.push(e));
  const feed = (from: number, to: number, at: (seq: number) => PodWindow[]) => {
    for (let seq = from; seq < to; seq++) engine.apply(nodeWindow("node-1", seq, at(seq), { intervalMs }));
  };
  const firing = (rule: string) => events.filter((e) => e.labels.alertname === rule && e.status === "firing");
  return { engine, events, feed, firing };
}

const listener = (synQueue: number, backlog: number) => [
  { address: "10.0.0.2", port: 9000, acceptQueue: 0, backlog, synQueue },
];

describe("TimeWaitBuildup with the defaults", () => {
  it("a pod holding 14,400 TIME_WAIT from the start fires within for + 2 windows", () => {
    const { firing, feed } = engineWith(defaultRules(), 1000);
    feed(0, 150, () => [{ owner: podA, sockets: { TIME_WAIT: 14_400 } }]);
    const [e] = firing("TimeWaitBuildup");
    expect(Date.parse(e?.firedAt ?? "")).toBeLessThanOrEqual(T0 + 120_000 + 2 * 1000 + 1000);
    expect(e?.annotations.summary).toContain("above the cold-start floor of 10000");
    expect(e?.annotations.description).toContain("no baseline yet");
  });

  it("a steady pod closing 20 connections/s first (1,100-1,300 TIME_WAIT) never fires in 10 minutes", () => {
    const { engine, events, feed } = engineWith(defaultRules(), 1000);
    // Fills up over the first minute, then wobbles around 60 s × 20/s.
    const tw = (s: number) => (s < 60 ? 20 * s : 1200 + ((s * 37) % 201) - 100);
    feed(0, 600, (s) => [{ owner: podA, sockets: { TIME_WAIT: tw(s) }, window: { active_opens: 20 } }]);
    expect(events).toEqual([]);
    expect(engine.list("all")).toEqual([]);
  });

  it("a leak ramping to 10× over the baseline window fires on its quiet level, not absorbed by the median", () => {
    const { firing, feed } = engineWith(defaultRules(), 10_000);
    // 200 → 2,000 over an hour of 10 s windows: under the cold-start floor throughout.
    const level = (seq: number) => Math.round(200 + (1800 * seq) / 360);
    feed(0, 361, (s) => [{ owner: podA, sockets: { TIME_WAIT: level(s) } }]);
    const [e] = firing("TimeWaitBuildup");
    expect(e?.annotations.description).toContain("quiet level");
    // Once the baseline counts (30 min), at about 4× its quiet level, well before the ramp's end.
    expect(Date.parse(e?.firedAt ?? "")).toBeLessThan(T0 + 50 * MIN);
    expect(e?.value).toBeLessThan(2000);
  });

  it("a pod whose level became its baseline still fires at the danger level", () => {
    const { engine, firing, feed } = engineWith(defaultRules(), 10_000);
    feed(0, 240, () => [{ owner: podA, sockets: { TIME_WAIT: 16_000 } }]); // 40 min
    // Fired while there was no baseline, resolved once 16,000 was the pod's normal.
    expect(firing("TimeWaitBuildup")).toHaveLength(1);
    expect(engine.list("all")).toEqual([]);
    feed(240, 260, () => [{ owner: podA, sockets: { TIME_WAIT: 21_000 } }]); // under 4 × 16,000
    expect(firing("TimeWaitBuildup")).toHaveLength(2);
    expect(firing("TimeWaitBuildup")[1]?.annotations.summary).toContain("danger level of 20000");
  });
});

describe("SynRecvBuildup with the defaults", () => {
  it("a listener holding 55 half-open connections from the start fires after `for`", () => {
    const { firing, feed } = engineWith(defaultRules(), 1000);
    feed(0, 150, () => [{ owner: podB, sockets: { SYN_RECV: 55 }, listeners: listener(55, 4096) }]);
    const [e] = firing("SynRecvBuildup");
    expect(Date.parse(e?.firedAt ?? "")).toBeLessThanOrEqual(T0 + 60_000 + 3000);
    expect(e?.labels.port).toBe("9000");
  });

  it("with a baseline: factor × its quiet level decides, but a SYN queue at its backlog fires whatever", () => {
    const { engine, firing, feed } = engineWith(defaultRules(), 10_000);
    feed(0, 200, () => [{ owner: podB, sockets: { SYN_RECV: 40 }, listeners: listener(40, 512) }]);
    feed(200, 220, () => [{ owner: podB, sockets: { SYN_RECV: 150 }, listeners: listener(150, 512) }]);
    expect(engine.list("all")).toEqual([]); // above the floor, under 4 × 40
    feed(220, 230, () => [{ owner: podB, sockets: { SYN_RECV: 128 }, listeners: listener(128, 128) }]);
    expect(firing("SynRecvBuildup")).toHaveLength(1);
    expect(firing("SynRecvBuildup")[0]?.annotations.summary).toContain("its SYN queue at its backlog");
  });
});

describe("the demo's rules: the defaults with short `for`s", () => {
  const demo = parseRulesFile(
    "local/demo-rules.yaml",
    readFileSync(new URL("../../../local/demo-rules.yaml", import.meta.url), "utf8"),
  );

  it("do not weaken any floor, factor or level", () => {
    const d = defaultRules();
    expect({ ...demo.TimeWaitBuildup, forMs: d.TimeWaitBuildup.forMs }).toEqual(d.TimeWaitBuildup);
    expect({ ...demo.SynRecvBuildup, forMs: d.SynRecvBuildup.forMs }).toEqual(d.SynRecvBuildup);
  });

  it("fire on the batch pod (300 connections/s closed first) and on web:9000's SYN queue (backlog 128)", () => {
    const { firing, feed } = engineWith(demo, 1000);
    feed(0, 90, (s) => [
      { owner: podA, sockets: { TIME_WAIT: Math.min(300 * s, 18_000) }, window: { active_opens: 300 } },
      // 100 half-open connections every 10 s, each held about a minute: the queue fills to the backlog.
      {
        owner: podB,
        sockets: { SYN_RECV: Math.min(100 * (Math.floor(s / 10) + 1), 128) },
        listeners: listener(Math.min(100 * (Math.floor(s / 10) + 1), 128), 128),
      },
    ]);
    expect(firing("TimeWaitBuildup").map((e) => e.labels.pod)).toEqual(["a"]);
    expect(firing("SynRecvBuildup").map((e) => e.labels.pod)).toEqual(["b"]);
  });
});
