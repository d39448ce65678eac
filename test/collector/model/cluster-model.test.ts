/** The cluster model's trust and size bounds: nodes speak only for themselves, the model is bounded, nodes expire. */
import { describe, expect, it } from "vitest";
import { ClusterModel } from "../../../collector/model/cluster-model.js";
import { podOwner, TEST_EPOCH, testSummary } from "../../support/summaries.js";

const HOUR = 3_600_000;
const pod = (uid: string, name = uid) => ({ owner: podOwner(uid, name), window: { active_opens: 5 } });
const totals = (model: ClusterModel) =>
  Object.fromEntries([...model.podRecords()].map((r) => [r.key, r.total.active_opens]));

describe("ClusterModel", () => {
  it("keeps a pod UID reported by another node apart: a node cannot rewrite another node's pods", () => {
    const model = new ClusterModel(HOUR, 24 * HOUR, () => TEST_EPOCH);
    model.apply(testSummary("node-1", 0, [pod("uid-1", "web-1")]));
    model.apply(
      testSummary("attacker", 0, [{ owner: podOwner("uid-1", "forged"), window: { active_opens: 1e6 } }]),
    );
    expect(totals(model)).toEqual({ "node-1/pod/uid-1": 5, "attacker/pod/uid-1": 1e6 });
    const real = [...model.podRecords()].find((r) => r.node === "node-1");
    expect(real?.latest.owner).toMatchObject({ name: "web-1" });
  });

  it("sheds new pods and nodes past its bounds, counting them, and applies the rest", () => {
    const model = new ClusterModel(HOUR, 24 * HOUR, () => TEST_EPOCH, { maxNodes: 2, maxPods: 3 });
    const seen: string[][] = [];
    model.onApplied((s) => seen.push(s.pods.map((e) => e.owner.name)));
    expect(model.apply(testSummary("node-1", 0, [pod("a"), pod("b")]))).toBe("applied");
    expect(model.apply(testSummary("node-2", 0, [pod("c"), pod("d")]))).toBe("applied");
    expect(model.apply(testSummary("node-3", 0, [pod("e")]))).toBe("shed");
    // Pods already tracked go on; a new one still finds no room.
    expect(model.apply(testSummary("node-1", 1, [pod("a"), pod("f")]))).toBe("applied");
    expect(model.trackedPods).toBe(3);
    expect(model.shed).toEqual({ nodes: 1, pods: 2 });
    expect(totals(model)).toEqual({ "node-1/pod/a": 10, "node-1/pod/b": 5, "node-2/pod/c": 5 });
    // Listeners (the alert engine) see only what the model tracks.
    expect(seen).toEqual([["a", "b"], ["c"], ["a"]]);
  });

  it("forgets nodes, their pods and their dedupe state once the retention has passed", () => {
    let now = TEST_EPOCH;
    const model = new ClusterModel(HOUR, 2 * HOUR, () => now, { maxNodes: 1, maxPods: 10 });
    model.apply(testSummary("node-1", 0, [pod("a")]));
    expect([...model.nodeStates()].map((n) => n.node)).toEqual(["node-1"]);
    now += 2 * HOUR + 60_000;
    model.expire();
    expect([...model.nodeStates()]).toEqual([]);
    expect(model.trackedPods).toBe(0);
    // Its slot is free again: a new node is tracked, not shed.
    expect(model.apply(testSummary("node-2", 0, [pod("b")]))).toBe("applied");
  });
});
