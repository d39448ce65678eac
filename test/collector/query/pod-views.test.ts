/** What the API shows of a pod: the detail's figures are the list's, taken from the series it shows. */
import { describe, expect, it } from "vitest";
import { zeroGauges } from "../../../agent/wire/gauges.js";
import { ClusterModel } from "../../../collector/model/cluster-model.js";
import { podDetail, podSummary } from "../../../collector/query/pod-views.js";
import { windowStats } from "../../../collector/query/window-stats.js";
import { podOwner, TEST_EPOCH, testSummary } from "../../support/summaries.js";

const NOW = TEST_EPOCH + 30 * 5000;

function record() {
  const model = new ClusterModel(3_600_000, 86_400_000, () => NOW);
  for (let seq = 0; seq < 30; seq++)
    model.apply(
      testSummary("node-1", seq, [
        {
          owner: podOwner("uid-api", "api", "shop", "api"),
          window: { active_opens: seq, passive_opens: 2, failed_connects: seq % 3 === 0 ? 1 : 0 },
          entry: {
            sockets: { ...zeroGauges(), ESTABLISHED: 4 },
            topDestinations: { connects: [{ endpoint: "10.0.0.9:443", count: 7 }], timeWait: [] },
          },
        },
      ]),
    );
  const [r] = [...model.podRecords()];
  if (!r) throw new Error("expected the pod's record");
  return r;
}

describe("pod views", () => {
  it("gives a pod's detail the same window figures as its summary in the list, and one series point per window", () => {
    const r = record();
    const since = NOW - 60_000;
    const detail = podDetail(r, since, null);
    const summary = podSummary(r, windowStats(r, since), null);
    expect(detail).toMatchObject({
      churnPerSecond: summary.churnPerSecond,
      coveredSeconds: 60,
      counters: summary.counters,
    });
    expect(detail.series).toHaveLength(12);
    expect(detail.series.at(-1)).toMatchObject({ counters: { active_opens: 29 }, churnPerSecond: 31 / 5 });
  });

  it("shows a destination without a name when no peer directory is there", () => {
    const summary = podSummary(record(), windowStats(record(), NOW - 60_000), null);
    expect(summary.topDestinations.connects).toEqual([
      { endpoint: "10.0.0.9:443", count: 7, peer: null, peerKind: null },
    ]);
    expect(summary).toMatchObject({
      namespace: "shop",
      name: "api",
      workload: "Deployment/api",
      node: "node-1",
    });
  });
});
