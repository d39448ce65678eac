import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { ClusterModel } from "../model/cluster-model.js";
import type { PodRecord } from "../model/pod-record.js";
import { rollup } from "../model/rollup.js";

export interface CollectorHttpOptions {
  host: string;
  port: number;
  registry: Registry;
  model: ClusterModel;
  logger: Logger;
  readiness(): { ready: boolean; waitingFor: string[] };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
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
export async function startCollectorHttp(
  opts: CollectorHttpOptions,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://collector");
    if (req.method !== "GET") return json(res, 405, { error: `method ${req.method} not allowed` });
    switch (url.pathname) {
      case "/metrics":
        opts.registry
          .metrics()
          .then((text) => {
            res.writeHead(200, { "content-type": opts.registry.contentType });
            res.end(text);
          })
          .catch((err: Error) => json(res, 500, { error: err.message }));
        return;
      case "/healthz":
        return json(res, 200, { status: "ok" });
      case "/readyz": {
        const r = opts.readiness();
        return json(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", ...r });
      }
      case "/api/v1/pods":
        return json(res, 200, { pods: [...opts.model.podRecords()].map(podView) });
      case "/api/v1/nodes":
        return json(res, 200, {
          nodes: [...opts.model.nodeStates()].map((n) => ({
            ...n,
            ...rollup(opts.model.podRecords(), "node").find((r) => r.key === n.node),
          })),
        });
      case "/api/v1/workloads":
        return json(res, 200, { workloads: rollup(opts.model.podRecords(), "workload") });
      case "/api/v1/namespaces":
        return json(res, 200, { namespaces: rollup(opts.model.podRecords(), "namespace") });
      default:
        return json(res, 404, {
          error: `no route ${url.pathname}; try /api/v1/pods, /api/v1/workloads, /api/v1/namespaces, /api/v1/nodes, /metrics`,
        });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host || undefined, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  opts.logger.info({ host: opts.host || "*", port }, "serving /api/v1, /metrics, /healthz, /readyz");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
