import type { Logger } from "pino";
import { natsAuthFromConfig, natsConnectionOptions } from "../agent/wire/nats-connection.js";
import { connectUntilUp } from "../common/nats-connect.js";
import { packageVersion } from "../common/version.js";
import { type CollectorCore, startCollectorCore } from "./collector-core.js";
import type { CollectorConfig } from "./config.js";
import { SummaryIngest } from "./ingest/summary-ingest.js";
import { retrySetUp } from "./jetstream-stream.js";
import { natsEventFeed } from "./live/nats-event-feed.js";

/** Nodes listed in /readyz's agentGaps: those whose newest agent followed another most recently. */
const GAP_NODES_SHOWN = 10;

/** The time between agents (rolls, crashes) per node, newest first: counts no agent took. */
function agentGaps(model: CollectorCore["model"]) {
  const withGaps = [...model.nodeStates()].filter((n) => n.lastGap !== null);
  return {
    nodes: withGaps.length,
    seconds: withGaps.reduce((sum, n) => sum + n.gapSeconds, 0),
    newest: withGaps
      .sort((a, b) => (b.lastGap?.at ?? 0) - (a.lastGap?.at ?? 0))
      .slice(0, GAP_NODES_SHOWN)
      .map((n) => ({
        node: n.node,
        agentRestarts: n.agentRestarts,
        gapSeconds: n.gapSeconds,
        lastGap: n.lastGap,
      })),
  };
}

export interface RunningCollector {
  readonly port: number;
  /** Its model and alerting, for an in-process view (`tcpstate local`'s live table). */
  readonly core: CollectorCore;
  stop(): Promise<void>;
}

/**
 * Wires the collector: NATS (JetStream) → the collector core (model, alerts, HTTP API, /metrics).
 * `alsoWaitFor` names what else the process is not ready without (`tcpstate local`: the agent's probes).
 */
export async function runCollector(
  config: CollectorConfig,
  logger: Logger,
  alsoWaitFor: () => string[] = () => [],
): Promise<RunningCollector> {
  // The first line a collector logs says which one runs (what the core logs while starting comes after).
  logger.info({ version: packageVersion(), nodejs: process.version }, "starting collector");
  let ingest: SummaryIngest | undefined;
  let natsUp = false;
  let feed: ReturnType<typeof natsEventFeed> | undefined;
  const core = await startCollectorCore(config, logger, {
    ingest: {
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
      get restarts() {
        return ingest?.restarts ?? 0;
      },
    },
    eventFeed: () => (natsUp ? feed : undefined),
    readiness: () => {
      const waitingFor: string[] = [];
      if (!natsUp) waitingFor.push("NATS connection");
      if (!ingest) waitingFor.push("summaries stream");
      else waitingFor.push(...ingest.waitingFor());
      waitingFor.push(...alsoWaitFor());
      // How far the ingest has come: the replay's progress, and a cheap read of it (no /metrics scrape).
      const ingestState = ingest && {
        ingested: ingest.ingested,
        duplicates: ingest.duplicates,
        deadLetters: [...ingest.deadLetters.values()].reduce((a, b) => a + b, 0),
        pending: ingest.pending,
        trackedPods: core.model.trackedPods,
      };
      return {
        ready: waitingFor.length === 0,
        waitingFor,
        details: { ingest: ingestState ?? null, agentGaps: agentGaps(core.model) },
      };
    },
  });
  const { model, alerting } = core;
  // Connect in the background: an unreachable NATS keeps the collector unready, not dead. Every failed attempt
  // (refused, certificate, authorization) is said and retried.
  const options = natsConnectionOptions(config.natsUrl, natsAuthFromConfig(config), "tcpstate-collector");
  let stopping = false;
  const giveUp = new AbortController();
  const nc = connectUntilUp({ options, logger, signal: giveUp.signal });
  const ingesting = (async () => {
    const conn = await nc;
    if (!conn) return; // stopped before NATS ever answered
    void alerting.attach(conn, () => ingest?.caughtUp === true);
    feed = natsEventFeed(conn, logger.child({ part: "events" }));
    natsUp = true;
    logger.info({ server: conn.getServer() }, "connected to NATS");
    void (async () => {
      for await (const s of conn.status()) {
        if (s.type === "disconnect") {
          natsUp = false;
          logger.warn({ server: s.server }, "disconnected from NATS; reconnecting");
        }
        if (s.type === "reconnect") {
          natsUp = true;
          logger.info({ server: s.server }, "reconnected to NATS");
          void ingest?.reconnected();
        }
      }
    })();
    ingest = await retrySetUp(
      "set up the summaries stream",
      logger,
      () => stopping,
      2000,
      async () => {
        const candidate = new SummaryIngest(conn, model, {
          retentionMs: config.retention,
          maxBytes: config.maxBytes,
          duplicateWindowMs: config.duplicateWindow,
          logger: logger.child({ part: "ingest" }),
        });
        await candidate.start();
        return candidate;
      },
    );
  })().catch((err) => logger.error({ err: (err as Error).message }, "NATS set-up failed"));

  return {
    port: core.port,
    core,
    async stop() {
      stopping = true;
      giveUp.abort();
      await ingest?.stop();
      await core.stop();
      // Not connected yet: connectUntilUp gives up (and closes a connection that comes up after all); an
      // attempt in flight is not waited for.
      await Promise.race([nc.then((c) => c?.close()), new Promise((r) => setTimeout(r, 100))]);
      void ingesting;
      logger.info("collector stopped");
    },
  };
}
