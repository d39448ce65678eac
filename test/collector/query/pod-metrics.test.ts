/** The collector's per-pod Prometheus series: labels, estimated flags, the cardinality guard, stale pods. */
import { describe, expect, it } from "vitest";
import { zeroGauges } from "../../../agent/wire/gauges.js";
import { ClusterModel } from "../../../collector/model/cluster-model.js";
import { podMetricsText } from "../../../collector/pod-metrics.js";
import { podOwner, TEST_EPOCH, testSummary } from "../../support/summaries.js";

function modelWith(opensPerPod: number[], seqs = 3) {
  const model = new ClusterModel(3_600_000, 86_400_000);
  for (let seq = 0; seq < seqs; seq++)
    model.apply(
      testSummary(
        "node-1",
        seq,
        opensPerPod.map((opens, i) => ({
          owner: podOwner(`uid-${i}`, `pod-${i}`, i % 2 ? "odd" : "even"),
          window: { active_opens: opens },
          entry: {
            sockets: { ...zeroGauges(), TIME_WAIT: 10 * (i + 1) },
            estimated: i === 0 ? ["TIME_WAIT" as const] : [],
            listeners: [{ address: "0.0.0.0", port: 8080, acceptQueue: 1, backlog: 128, synQueue: i }],
            netnsCounters: null,
          },
        })),
      ),
    );
  return model;
}

async function scrape(model: ClusterModel, maxPods: number, now: number) {
  let text = "";
  for await (const chunk of podMetricsText(model, { maxPods, clock: () => now })()) text += chunk;
  return text;
}

describe("collector pod metrics", () => {
  const now = TEST_EPOCH + 15_000;

  it("exports churn, sockets (estimated marked), transitions, listeners and rollups per pod", async () => {
    const text = await scrape(modelWith([50, 10]), 100, now);
    expect(text).toContain(
      'tcpstate_pod_churn_per_second{namespace="even",pod="pod-0",workload="Deployment/web",node="node-1"} 10',
    );
    expect(text).toContain(
      'tcpstate_pod_sockets{namespace="even",pod="pod-0",workload="Deployment/web",node="node-1",state="TIME_WAIT",estimated="true"} 10',
    );
    expect(text).toContain(
      'tcpstate_pod_sockets{namespace="odd",pod="pod-1",workload="Deployment/web",node="node-1",state="TIME_WAIT",estimated="false"} 20',
    );
    expect(text).toContain(
      'tcpstate_pod_transitions_total{namespace="even",pod="pod-0",workload="Deployment/web",node="node-1",transition="active_opens"} 150',
    );
    expect(text).toContain(
      'tcpstate_pod_listener_syn_queue{namespace="odd",pod="pod-1",workload="Deployment/web",node="node-1",port="8080"} 1',
    );
    expect(text).toContain('tcpstate_namespace_churn_per_second{namespace="odd"} 2');
    expect(text).toContain(
      'tcpstate_workload_sockets{namespace="even",workload="Deployment/web",state="TIME_WAIT"} 10',
    );
  });

  it('past the bound, sums the quietest pods into pod="_other" per namespace', async () => {
    const text = await scrape(modelWith([100, 90, 5, 3, 1]), 2, now);
    const churn = text.split("\n").filter((l) => l.startsWith("tcpstate_pod_churn_per_second{"));
    expect(churn).toEqual([
      'tcpstate_pod_churn_per_second{namespace="even",pod="pod-0",workload="Deployment/web",node="node-1"} 20',
      'tcpstate_pod_churn_per_second{namespace="odd",pod="pod-1",workload="Deployment/web",node="node-1"} 18',
      'tcpstate_pod_churn_per_second{namespace="even",pod="_other",workload="",node=""} 1.2',
      'tcpstate_pod_churn_per_second{namespace="odd",pod="_other",workload="",node=""} 0.6',
    ]);
    // TIME_WAIT of pods 2 and 4 (30 + 50) in even's _other: nothing is lost by the guard.
    expect(text).toContain(
      'tcpstate_pod_sockets{namespace="even",pod="_other",workload="",node="",state="TIME_WAIT",estimated="false"} 80',
    );
  });

  it("drops the series of pods no agent reported for two minutes", async () => {
    const text = await scrape(modelWith([5]), 100, now + 121_000);
    expect(text).not.toMatch(/^tcpstate_pod_churn_per_second\{/m);
    expect(text).not.toMatch(/^tcpstate_pod_sockets\{/m);
  });
});
