/** A collector model for the idle-entry tests: one busy pod beside one netns with nothing in any window. */
import { zeroGauges } from "../../agent/wire/gauges.js";
import { ClusterModel } from "../../collector/model/cluster-model.js";
import { podOwner, TEST_EPOCH, testSummary } from "./summaries.js";

/** `windows` 5 s windows of node-1: shop/api opens 10 a window and holds 2 ESTABLISHED; netns cni-leftover idles. */
export function modelWithIdleNetns(windows: number): { model: ClusterModel; now: number } {
  const now = TEST_EPOCH + windows * 5000;
  const model = new ClusterModel(3_600_000, 86_400_000, () => now);
  const api = podOwner("uid-api", "api", "shop", "api");
  for (let seq = 0; seq < windows; seq++)
    model.apply(
      testSummary("node-1", seq, [
        { owner: api, window: { active_opens: 10 }, entry: { sockets: { ...zeroGauges(), ESTABLISHED: 2 } } },
        { owner: { kind: "netns", name: "cni-leftover" } },
      ]),
    );
  return { model, now };
}
