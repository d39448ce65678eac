/**
 * A node's agent restarts (a roll, a crash): the new agent's windows come under a new boot id. The time
 * between the old agent's last window and the new one's first was counted by nobody; the model says how long.
 */
import { describe, expect, it } from "vitest";
import { ClusterModel, rollGapMs } from "../../../collector/model/cluster-model.js";
import { podOwner, TEST_EPOCH, testSummary } from "../../support/summaries.js";

const HOUR = 3_600_000;
const web = [{ owner: podOwner("uid-1", "web-1"), window: { active_opens: 2 } }];
/** Window `seq` of an agent boot whose windows are shifted by `offsetMs`. */
const windowOf = (boot: string, seq: number, offsetMs = 0) => {
  const s = testSummary("node-1", seq, web, boot);
  return { ...s, windowStart: s.windowStart + offsetMs, windowEnd: s.windowEnd + offsetMs };
};
const node = (model: ClusterModel) => [...model.nodeStates()].find((n) => n.node === "node-1");

describe("rollGapMs", () => {
  it("is the time from the newest earlier window's end to the new agent's first start; none for a first agent", () => {
    expect(rollGapMs([], 1000)).toBeNull();
    expect(rollGapMs([400, 700], 1000)).toBe(300);
    expect(rollGapMs([1200], 1000)).toBe(0); // overlapping agents (a crash's last windows arrived late)
  });
});

describe("ClusterModel: the newest incomplete window of a node, with the agent's reasons", () => {
  it("keeps the reasons of the newest incomplete window; complete windows and late older ones leave it", () => {
    const model = new ClusterModel(HOUR, 24 * HOUR, () => TEST_EPOCH + HOUR);
    model.apply(windowOf("boot-a", 0));
    expect(node(model)?.lastIncomplete).toBeNull();
    const started = { ...windowOf("boot-a", 1), complete: false, incompleteReasons: ["agent started: …"] };
    const restarted = {
      ...windowOf("boot-a", 3),
      complete: false,
      incompleteReasons: ["bpftrace restarted"],
    };
    model.apply(restarted);
    model.apply(windowOf("boot-a", 4));
    model.apply(started); // older, arriving late
    expect(node(model)?.lastIncomplete).toEqual({
      windowEnd: restarted.windowEnd,
      reasons: ["bpftrace restarted"],
    });
    expect(node(model)?.incompleteWindows).toBe(2);
  });
});

describe("ClusterModel: gaps between a node's agents", () => {
  it("sums the gaps per node, with the newest one, and counts each agent's windows once", () => {
    const model = new ClusterModel(HOUR, 24 * HOUR, () => TEST_EPOCH + HOUR);
    for (let seq = 0; seq < 3; seq++) model.apply(windowOf("boot-a", seq)); // ends at EPOCH + 15 s
    expect(node(model)).toMatchObject({ agentRestarts: 0, gapSeconds: 0, lastGap: null });
    // The next agent counts from EPOCH + 18.5 s: its seq 0 window, shifted to start there.
    for (let seq = 0; seq < 2; seq++) model.apply(windowOf("boot-b", seq, 18_500));
    expect(node(model)).toMatchObject({
      agentRestarts: 1,
      gapSeconds: 18.5 - 15,
      lastGap: { seconds: 3.5, at: TEST_EPOCH + 18_500 },
    });
    model.apply(windowOf("boot-c", 0, 32_000)); // after boot-b's last window (EPOCH + 28.5 s)
    expect(node(model)).toMatchObject({ agentRestarts: 2, gapSeconds: 3.5 + 3.5 });
    // Redelivered windows (a collector's replay, JetStream redelivery) add no gap and no count.
    model.apply(windowOf("boot-b", 0, 18_500));
    model.apply(windowOf("boot-c", 0, 32_000));
    expect(node(model)).toMatchObject({ agentRestarts: 2, gapSeconds: 7 });
    expect([...model.podRecords()][0]?.total.active_opens).toBe(6 * 2);
  });
});
