import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { type Readiness, type ServiceHttp, type ServiceHttpOptions, sendJson, startServiceHttp } from "../../common/service-http.js";
import type { ClusterModel } from "../model/cluster-model.js";
import type { PodRecord } from "../model/pod-record.js";
import { rollup } from "../model/rollup.js";

export interface CollectorHttpOptions {
  host: string;
  port: number;
  registry: Registry;
  model: ClusterModel;
  logger: Logger;
  readiness(): Readiness;
  /** More GET routes from other parts of the collector (alerts). */
  routes?: ServiceHttpOptions["routes"];
}

/** A pod as the API shows it: identity, totals over its history, its newest gauges and lists. */
export function podView(r: PodRecord) {
  const o = r.latest.owner;
  return {
    namespace: o.kind === "pod" ? o.namespace : "",
    name: o.name,
    kind: o.kind,
    uid: o.kind === "pod" ? o.uid : null,
    node: r.node,
    workload: o.kind === "pod" ? o.workload : null,
    hostNetwork: o.kind === "pod" ? o.hostNetwork : false,
    lastSeen: r.lastSeen,
    total: r.total,
    window: r.latest.window,
    sockets: r.latest.sockets,
    estimated: r.latest.estimated,
    listeners: r.latest.listeners,
    topDestinations: r.latest.topDestinations,
    points: r.pointCount,
  };
}

/** /metrics, /healthz, /readyz and the first read API: /api/v1/pods, /workloads, /namespaces, /nodes. */
export function startCollectorHttp(opts: CollectorHttpOptions): Promise<ServiceHttp> {
  const { model } = opts;
  return startServiceHttp({
    ...opts,
    routes: {
      "/api/v1/pods": (_url, res) => sendJson(res, 200, { pods: [...model.podRecords()].map(podView) }),
      "/api/v1/workloads": (_url, res) =>
        sendJson(res, 200, { workloads: rollup(model.podRecords(), "workload") }),
      "/api/v1/namespaces": (_url, res) =>
        sendJson(res, 200, { namespaces: rollup(model.podRecords(), "namespace") }),
      "/api/v1/nodes": (_url, res) => {
        const perNode = rollup(model.podRecords(), "node");
        sendJson(res, 200, {
          nodes: [...model.nodeStates()].map((n) => ({ ...n, ...perNode.find((r) => r.key === n.node) })),
        });
      },
      ...opts.routes,
    },
  });
}
