import { connect } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { natsAuthFromConfig, natsConnectionOptions } from "../agent/wire/nats-connection.js";
import { kubeConfigAvailable, loadKubeConfig } from "../common/kube-list-watch.js";
import { createAlerting } from "./alerts/alerting.js";
import { collectorMetrics } from "./collector-metrics.js";
import type { CollectorConfig } from "./config.js";
import { startCollectorHttp } from "./http/collector-http.js";
import { SummaryIngest } from "./ingest/summary-ingest.js";
import { EventTap } from "./live/event-tap.js";
import { natsEventFeed } from "./live/nats-event-feed.js";
import { ClusterModel } from "./model/cluster-model.js";
import { PeerDirectory } from "./peers/peer-directory.js";
import { registerPodMetrics } from "./pod-metrics.js";

export interface RunningCollector {
  readonly port: number;
  stop(): Promise<void>;
}

/** Wires the collector: NATS (JetStream) → model → HTTP API and /metrics. */
export async function runCollector(config: CollectorConfig, logger: Logger): Promise<RunningCollector> {
  const model = new ClusterModel(config.history, config.retention);
  const alerting = createAlerting(model, { ...config, logger: logger.child({ part: "alerts" }) });
  let ingest: SummaryIngest | undefined;
  let natsUp = false;
  const peers =
    config.peerNames === "on" && kubeConfigAvailable(config.kubeconfig)
      ? new PeerDirectory(loadKubeConfig(config.kubeconfig), logger.child({ part: "peers" }))
      : null;
  if (peers) void peers.start();
  else logger.info({ peerNames: config.peerNames }, "peer names off: destinations are shown as addresses");
  let feed: ReturnType<typeof natsEventFeed> | undefined;
  const events = new EventTap(() => (natsUp ? feed : undefined), peers);
  // Connect in the background: an unreachable NATS keeps the collector unready, not dead. waitOnFirstConnect
  // retries an absent server by itself; what rejects (bad credentials) is retried here, and said.
  const options = natsConnectionOptions(config.natsUrl, natsAuthFromConfig(config), "tcpstate-collector");
  let stopping = false;
  logger.info({ servers: config.natsUrl }, "connecting to NATS (retrying until it answers)");
  const nc = (async () => {
    for (;;) {
      try {
        return await connect(options);
      } catch (err) {
        if (stopping) throw err;
        logger.error(
          { err: (err as Error).message, servers: config.natsUrl },
          "cannot connect to NATS; retrying in 5 s",
        );
        await new Promise((r) => setTimeout(r, 5000));
      }
    }
  })();
  const ingesting = (async () => {
    const conn = await nc;
    void alerting.attach(conn, () => ingest?.caughtUp === true);
    feed = natsEventFeed(conn, logger.child({ part: "events" }));
    natsUp = true;
    logger.info({ server: conn.getServer() }, "connected to NATS");
    void (async () => {
      for await (const s of conn.status()) {
        if (s.type === "disconnect") natsUp = false;
        if (s.type === "reconnect") natsUp = true;
      }
    })();
    for (let attempt = 1; ; attempt++) {
      const candidate = new SummaryIngest(conn, model, {
        retentionMs: config.retention,
        maxBytes: config.maxBytes,
        duplicateWindowMs: config.duplicateWindow,
        logger: logger.child({ part: "ingest" }),
      });
      try {
        await candidate.start();
        ingest = candidate;
        return;
      } catch (err) {
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5));
        logger.error(
          { err: (err as Error).message, retryInMs: delay },
          "cannot set up the summaries stream; retrying",
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  })().catch(() => undefined); // only when stopping before NATS ever answered

  const expiry = setInterval(() => model.expire(), 60_000);
  const registry = collectorMetrics(
    {
      get ingested() {
        return ingest?.ingested ?? 0;
      },
      get duplicates() {
        return ingest?.duplicates ?? 0;
      },
      get pending() {
        return ingest?.pending ?? 0;
      },
      get deadLetters() {
        return ingest?.deadLetters ?? new Map<string, number>();
      },
    },
    model,
  );
  registerPodMetrics(registry, model, { maxPods: config.maxExportedPods });
  alerting.register(registry);
  const http = await startCollectorHttp({
    host: config.listen.host,
    port: config.listen.port,
    registry,
    model,
    peers,
    events,
    routes: alerting.routes,
    logger,
    readiness: () => {
      const waitingFor: string[] = [];
      if (!natsUp) waitingFor.push("NATS connection");
      if (!ingest) waitingFor.push("summaries stream");
      else if (!ingest.caughtUp) waitingFor.push("replay of the stream");
      return { ready: waitingFor.length === 0, waitingFor };
    },
  });
  return {
    port: http.port,
    async stop() {
      stopping = true;
      clearInterval(expiry);
      events.stop();
      await peers?.stop();
      await ingest?.stop();
      await alerting.stop();
      await http.close();
      // Not connected yet: give up connecting rather than wait for it.
      await Promise.race([nc.then((c) => c.close()), new Promise((r) => setTimeout(r, 100))]);
      void ingesting;
      logger.info("collector stopped");
    },
  };
}
