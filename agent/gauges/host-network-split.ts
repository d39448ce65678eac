import { zeroGauges } from "../wire/gauges.js";
import type { NetnsGauges } from "./netns-gauges.js";
import { reconcileTimeWait, type TimeWaitEstimator } from "./time-wait-estimate.js";

/**
 * Splits the host netns's gauges between the hostNetwork pods and the host. Full sockets go by the cgroup the
 * socket table names (exact); TIME_WAIT, which has no owner, by each pod's estimate, reconciled so the pods and
 * the host together hold exactly the netns's TIME_WAIT count.
 */
export function splitHostGauges(
  host: NetnsGauges,
  podUids: readonly string[],
  estimator: TimeWaitEstimator,
  now: number,
): { host: NetnsGauges; pods: Map<string, NetnsGauges> } {
  const estimates = new Map(podUids.map((uid) => [uid, estimator.estimate(uid, now)]));
  const timeWait = reconcileTimeWait(
    host.sockets.TIME_WAIT,
    estimates,
    estimator.hostEntries(now),
    estimator.seenWholeLifetime(now),
  );
  const pods = new Map<string, NetnsGauges>();
  for (const uid of podUids) {
    const table = host.podTables?.get(uid);
    pods.set(uid, {
      sockets: { ...(table?.gauges ?? zeroGauges()), TIME_WAIT: timeWait.pods.get(uid) ?? 0 },
      listeners: table?.listeners ?? [],
      timeWaitByPeer: new Map(),
      counterDeltas: null, // the netns's counters are the host's
      tableRead: host.tableRead,
      estimated: ["TIME_WAIT"],
    });
  }
  return { host: { ...host, sockets: { ...host.sockets, TIME_WAIT: timeWait.rest } }, pods };
}
