/**
 * Windows a node counted before its agent knew the pod (pod list not synced yet) come under a `netns` row
 * (`cni-…`, or `pod-<uid>` for a hostNetwork pod); once a later window names the pod, the collector moves that
 * history to the pod's row: queries show one row with every count, none twice.
 */
import { describe, expect, it } from "vitest";
import type { Owner, PodOwner } from "../../../agent/wire/summary.js";
import { ClusterModel } from "../../../collector/model/cluster-model.js";
import { emptyActivitySum } from "../../../collector/model/recent-activity.js";
import { listPods } from "../../../collector/query/pod-query.js";
import { PodListQuerySchema } from "../../../collector/query/query-params.js";
import { podOwner, TEST_EPOCH, testSummary } from "../../support/summaries.js";

const HOUR = 3_600_000;
const CLIENT_NETNS = 4026532412;
const netnsRow = (name: string): Owner => ({ kind: "netns", name });
const CLIENT_UID = "0b5c9a3e-1f2d-4c6b-9a8e-7d6c5b4a3f21";
const client = podOwner(CLIENT_UID, "client-7d9f");
const window = (seq: number, owner: Owner, opens: number, netns = CLIENT_NETNS) =>
  testSummary("node-1", seq, [{ owner, window: { active_opens: opens }, entry: { netns: [netns] } }]);
const rows = (model: ClusterModel) =>
  Object.fromEntries([...model.podRecords()].map((r) => [r.key, r.total.active_opens]));
const now = TEST_EPOCH + 10 * 5000;
const listed = (model: ClusterModel) =>
  listPods(model, null, PodListQuerySchema.parse({ window: "1h", idle: "show" }), now).pods.map(
    (p) => p.name,
  );

describe("ClusterModel: a netns row named as a pod later", () => {
  it("moves the row's windows, totals and recent activity to the pod's row", () => {
    const model = new ClusterModel(HOUR, 24 * HOUR, () => now);
    model.apply(window(0, netnsRow("cni-5f1e2d3c"), 4));
    model.apply(window(1, netnsRow("cni-5f1e2d3c"), 6));
    model.apply(window(2, client, 5)); // the pod list synced: the same netns, named
    expect(rows(model)).toEqual({ [`node-1/pod/${CLIENT_UID}`]: 15 });
    const [record] = [...model.podRecords()];
    expect(record?.points().map((p) => p.window.active_opens)).toEqual([4, 6, 5]);
    expect(record?.latest.owner).toEqual(client);
    expect(record?.recent.sumSince(TEST_EPOCH, now, emptyActivitySum()).opens).toBe(15);
    expect(listed(model)).toEqual(["client-7d9f"]);
    expect(model.movedRows).toBe(1);
  });

  it("moves a hostNetwork pod's pod-<uid> row, whatever its netns", () => {
    const uid = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";
    const hostPod = { ...(podOwner(uid, "exporter") as PodOwner), hostNetwork: true };
    const model = new ClusterModel(HOUR, 24 * HOUR, () => now);
    model.apply(window(0, netnsRow(`pod-${uid}`), 3, 4026531840));
    model.apply(window(1, hostPod, 2, 4026531840));
    expect(rows(model)).toEqual({ [`node-1/pod/${uid}`]: 5 });
  });

  it("leaves a row of another netns, a row another node reported, and a stale row of a reused inode", () => {
    const model = new ClusterModel(HOUR, 24 * HOUR, () => now);
    model.apply(window(0, netnsRow("cni-dead"), 9)); // a netns that ended long ago, its inode reused since
    model.apply(window(1, netnsRow("cni-other"), 1, CLIENT_NETNS + 1));
    model.apply(
      testSummary("node-2", 4, [
        { owner: netnsRow("cni-5f1e2d3c"), window: { active_opens: 7 }, entry: { netns: [CLIENT_NETNS] } },
      ]),
    );
    model.apply(window(5, client, 5));
    expect(rows(model)).toEqual({
      "node-1/netns/cni-dead": 9,
      "node-1/netns/cni-other": 1,
      "node-2/netns/cni-5f1e2d3c": 7,
      [`node-1/pod/${CLIENT_UID}`]: 5,
    });
  });

  it("counts each window once when the stream is redelivered after the move", () => {
    const model = new ClusterModel(HOUR, 24 * HOUR, () => now);
    const summaries = [
      window(0, netnsRow("cni-a"), 1),
      window(1, netnsRow("cni-a"), 2),
      window(2, client, 3),
    ];
    for (const s of [...summaries, ...summaries]) model.apply(s);
    expect(rows(model)).toEqual({ [`node-1/pod/${CLIENT_UID}`]: 6 });
  });
});
