import type { Logger } from "pino";
import { kubeConfigAvailable, loadKubeConfig } from "../common/kube-list-watch.js";
import type { Readiness } from "../common/service-http.js";
import { type Alerting, createAlerting } from "./alerts/alerting.js";
import { collectorMetrics, type IngestCounts } from "./collector-metrics.js";
import type { CollectorConfig, HttpSinksConfig } from "./config.js";
import { startCollectorHttp } from "./http/collector-http.js";
import { type EventFeed, EventTap } from "./live/event-tap.js";
import { ClusterModel } from "./model/cluster-model.js";
import { PeerDirectory } from "./peers/peer-directory.js";
import { podMetricsText } from "./pod-metrics.js";

export type CollectorCoreConfig = Pick<
  CollectorConfig,
  | "listen"
  | "allowedHosts"
  | "maxStreamClients"
  | "retention"
  | "duplicateWindow"
  | "history"
  | "rules"
  | "alertResendInterval"
  | "kubeconfig"
  | "peerNames"
  | "maxExportedPods"
  | "maxNodes"
  | "maxPods"
> &
  HttpSinksConfig;

export interface CollectorCore {
  readonly model: ClusterModel;
  readonly alerting: Alerting;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Everything of the collector but where summaries come from: the model, alerts, peer names, live events, the
 * metrics and the HTTP API. `tcpstate collector` feeds it from NATS JetStream; `tcpstate local` from an agent
 * in the same process.
 */
export async function startCollectorCore(
  config: CollectorCoreConfig,
  logger: Logger,
  source: { ingest: IngestCounts; eventFeed(): EventFeed | undefined; readiness(): Readiness },
): Promise<CollectorCore> {
  const model = new ClusterModel(config.history, config.retention, Date.now, {
    maxNodes: config.maxNodes,
    maxPods: config.maxPods,
  });
  const alerting = createAlerting(model, { ...config, logger: logger.child({ part: "alerts" }) });
  const peers =
    config.peerNames === "on" && kubeConfigAvailable(config.kubeconfig)
      ? new PeerDirectory(loadKubeConfig(config.kubeconfig), logger.child({ part: "peers" }))
      : null;
  if (peers) void peers.start();
  else logger.info({ peerNames: config.peerNames }, "peer names off: destinations are shown as addresses");
  const events = new EventTap(() => source.eventFeed(), peers);
  const expiry = setInterval(() => model.expire(), 60_000);
  const registry = collectorMetrics(source.ingest, model);
  alerting.register(registry);
  const http = await startCollectorHttp({
    host: config.listen.host,
    port: config.listen.port,
    registry,
    moreMetrics: podMetricsText(model, { maxPods: config.maxExportedPods }),
    model,
    peers,
    events,
    routes: alerting.routes,
    allowedHosts: config.allowedHosts,
    streamLimits: { maxClients: config.maxStreamClients },
    logger,
    readiness: () => source.readiness(),
  });
  return {
    model,
    alerting,
    port: http.port,
    async stop() {
      clearInterval(expiry);
      events.stop();
      await peers?.stop();
      await alerting.stop();
      await http.close();
    },
  };
}
