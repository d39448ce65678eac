import { readFileSync } from "node:fs";
import type http from "node:http";
import { createRequire } from "node:module";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { z } from "zod";
import { TRANSITION_STATES } from "../../agent/wire/events.js";
import { decodeComponent } from "../../common/request-target.js";
import {
  BadRequestError,
  type Readiness,
  type ServiceHttp,
  type ServiceHttpOptions,
  sendJson,
  startServiceHttp,
} from "../../common/service-http.js";
import { EVENTS_NOT_CONNECTED, type EventTap } from "../live/event-tap.js";
import type { ClusterModel } from "../model/cluster-model.js";
import type { PeerLookup } from "../peers/peer-directory.js";
import { findPod, listPods } from "../query/pod-query.js";
import { PodRanking } from "../query/pod-ranking.js";
import { podDetail } from "../query/pod-views.js";
import {
  PodDetailQuerySchema,
  PodListQuerySchema,
  parseQuery,
  RollupQuerySchema,
} from "../query/query-params.js";
import { rollup } from "../query/rollup.js";

export interface CollectorHttpOptions {
  host: string;
  port: number;
  registry: Registry;
  /** The per-pod series, written after the registry's. */
  moreMetrics?: ServiceHttpOptions["moreMetrics"];
  model: ClusterModel;
  peers: PeerLookup | null;
  events: EventTap;
  logger: Logger;
  readiness(): Readiness;
  clock?: () => number;
  /** More GET routes from other parts of the collector (alerts). */
  routes?: ServiceHttpOptions["routes"];
  allowedHosts?: ServiceHttpOptions["allowedHosts"];
  streamLimits?: ServiceHttpOptions["streamLimits"];
}

const STATE_LIST = z
  .string()
  .transform((text) => text.split(",").map((s) => s.trim().toUpperCase()))
  .pipe(z.array(z.enum(TRANSITION_STATES, { error: `accepted states: ${TRANSITION_STATES.join(", ")}` })));

const EventQuerySchema = z.strictObject({
  namespace: z.string().min(1).optional(),
  pod: z.string().min(1).optional(),
  node: z.string().min(1).optional(),
  /** Comma-separated states: transitions from or to any of them. */
  state: STATE_LIST.optional(),
});

interface Asset {
  type: string;
  body: Buffer;
}

/** The dashboard: one page and its scripts, read once from the package (no build step at run time). */
function dashboardAssets(): Record<string, Asset> {
  const dir = new URL("../dashboard/", import.meta.url);
  const uplot = createRequire(import.meta.url).resolve("uplot/dist/uPlot.iife.min.js");
  const file = (name: string) => readFileSync(new URL(name, dir));
  return {
    "/": { type: "text/html; charset=utf-8", body: file("index.html") },
    "/dashboard.js": { type: "text/javascript; charset=utf-8", body: file("dashboard.js") },
    "/dashboard.css": { type: "text/css; charset=utf-8", body: file("dashboard.css") },
    "/vendor/uPlot.iife.min.js": { type: "text/javascript; charset=utf-8", body: readFileSync(uplot) },
    "/vendor/uPlot.min.css": {
      type: "text/css; charset=utf-8",
      body: readFileSync(uplot.replace(/uPlot\.iife\.min\.js$/, "uPlot.min.css")),
    },
  };
}

/** The query API (/api/v1/…), the dashboard (/), live events, and /metrics, /healthz, /readyz. */
export function startCollectorHttp(opts: CollectorHttpOptions): Promise<ServiceHttp> {
  const { model, peers } = opts;
  const now = opts.clock ?? Date.now;
  const assets = dashboardAssets();
  const ranking = new PodRanking();
  const static_: ServiceHttpOptions["routes"] = Object.fromEntries(
    Object.entries(assets).map(([path, a]) => [
      path,
      (_url: URL, res: http.ServerResponse) => {
        res.writeHead(200, { "content-type": a.type, "cache-control": "no-cache" });
        res.end(a.body);
      },
    ]),
  );
  // Workloads or namespaces over a window, optionally one namespace's only.
  const rollupRoute =
    (level: "workload" | "namespace", key: string) => (url: URL, res: http.ServerResponse) => {
      const q = parseQuery(RollupQuerySchema, url.searchParams);
      sendJson(res, 200, {
        window: { seconds: q.window / 1000 },
        [key]: rollup(model.podRecords(), level, now() - q.window, q.namespace),
      });
    };
  return startServiceHttp({
    ...opts,
    routes: {
      ...static_,
      "/api/v1/pods": (url, res) =>
        sendJson(
          res,
          200,
          listPods(model, peers, parseQuery(PodListQuerySchema, url.searchParams), now(), ranking),
        ),
      "/api/v1/pods/*": (url, res) => {
        const q = parseQuery(PodDetailQuerySchema, url.searchParams);
        const parts = url.pathname
          .slice("/api/v1/pods/".length)
          .split("/")
          .map((segment) => {
            const decoded = decodeComponent(segment);
            if (decoded === null) throw new BadRequestError("path", `path segment "${segment}" is no UTF-8`);
            return decoded;
          });
        if (parts.length !== 2 || !parts[0] || !parts[1])
          return sendJson(res, 404, {
            error: `expected /api/v1/pods/{namespace}/{name}, got ${url.pathname}`,
          });
        const [namespace, name] = parts as [string, string];
        const record = findPod(model, namespace, name);
        if (!record)
          return sendJson(res, 404, {
            error: `pod ${namespace}/${name} not found: no agent has reported it within the retention`,
          });
        sendJson(res, 200, podDetail(record, now() - q.window, peers));
      },
      "/api/v1/workloads": rollupRoute("workload", "workloads"),
      "/api/v1/namespaces": rollupRoute("namespace", "namespaces"),
      "/api/v1/nodes": (url, res) => {
        const q = parseQuery(RollupQuerySchema.omit({ namespace: true }), url.searchParams);
        const perNode = new Map(rollup(model.podRecords(), "node", now() - q.window).map((r) => [r.key, r]));
        sendJson(res, 200, {
          window: { seconds: q.window / 1000 },
          nodes: [...model.nodeStates()].map((n) => ({ ...perNode.get(n.node), ...n })),
        });
      },
      "/api/v1/events": (url, res, { streams }) => {
        const q = parseQuery(EventQuerySchema, url.searchParams);
        if (!opts.events.connected) return sendJson(res, 503, { error: EVENTS_NOT_CONNECTED });
        const stream = streams.open(res);
        if (!stream) return;
        stream.whenClosed(opts.events.watch({ ...q, states: q.state }, (line) => stream.writeLine(line)));
      },
      ...opts.routes,
    },
  });
}
