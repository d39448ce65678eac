/**
 * `tcpstate local`: the agent and the collector in one process on this host — summaries go straight from the
 * agent into the collector's model (no NATS; `--nats-url` uses NATS instead), pods are this host's network
 * namespaces — serving the dashboard and API, with a live `top` table on the terminal.
 */
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { AgentConfig } from "../agent/config.js";
import { agentPreflight, type RunningAgent, runAgent } from "../agent/main.js";
import {
  type CollectorCore,
  type CollectorCoreConfig,
  startCollectorCore,
} from "../collector/collector-core.js";
import type { CollectorConfig } from "../collector/config.js";
import { runCollector } from "../collector/main.js";
import { listPods } from "../collector/query/pod-query.js";
import { PodRanking } from "../collector/query/pod-ranking.js";
import { PodListQuerySchema } from "../collector/query/query-params.js";
import { type Demo, startDemo } from "./demo.js";
import { requireDemoTools } from "./demo-tools.js";
import { type LiveTable, startLiveTable } from "./live-table.js";
import { localOwner } from "./local-owner.js";

export const DEMO_RULES = fileURLToPath(new URL("./demo-rules.yaml", import.meta.url));

export interface LocalOptions {
  agent: AgentConfig;
  collector: CollectorCoreConfig & Partial<Pick<CollectorConfig, "natsUrl">>;
  demo: boolean;
  /** No live table (progress and the URL are still printed). */
  quiet: boolean;
  /** Where progress, the URL and the live table go. */
  out: NodeJS.WriteStream;
}

export interface RunningLocal {
  readonly url: string;
  readonly demo: Demo | null;
  stop(): Promise<void>;
}

/** Waits for the agent's probes, saying so while it waits (a running count on a terminal). */
async function probesAttached(agent: RunningAgent, out: NodeJS.WriteStream): Promise<void> {
  const started = Date.now();
  const tty = out.isTTY;
  if (!tty) out.write("tcpstate: attaching probes (bpftrace)…\n");
  for (;;) {
    if (agent.probesAttached) break;
    if (tty)
      out.write(`\rtcpstate: attaching probes (bpftrace)… ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (tty) out.write("\r\x1b[K");
  out.write(`tcpstate: probes attached in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

export async function runLocal(opts: LocalOptions, logger: Logger): Promise<RunningLocal> {
  const { agent: agentConfig, collector: collectorConfig } = opts;
  // Before anything is created: a host that cannot trace stops here, with nothing to clean up.
  const preflighted = await agentPreflight(agentConfig);
  if (opts.demo) await requireDemoTools();
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse())
      await s().catch((err: Error) => logger.error({ err: err.message }, "stop failed"));
  };
  try {
    const demo = opts.demo ? await startDemo(logger.child({ part: "demo" })) : null;
    if (demo) stops.push(() => demo.stop());
    let core: CollectorCore;
    let agent: RunningAgent | undefined;
    let applied = 0;
    const inProcess = !collectorConfig.natsUrl;
    // Not ready (nor worth a look) before the counting probes are attached.
    const agentWaits = () => (agent?.probesAttached ? [] : ["bpftrace probes"]);
    if (collectorConfig.natsUrl) {
      // Through NATS, as in a cluster: the agent publishes (its config has the same URL), the collector consumes.
      const collector = await runCollector(
        { ...(collectorConfig as CollectorConfig), natsUrl: collectorConfig.natsUrl },
        logger.child({ component: "collector" }),
        agentWaits,
      );
      stops.push(() => collector.stop());
      core = collector.core;
    } else {
      core = await startCollectorCore(collectorConfig, logger.child({ component: "collector" }), {
        ingest: {
          get ingested() {
            return applied;
          },
          duplicates: 0,
          pending: 0,
          deadLetters: new Map(),
          restarts: 0,
        },
        eventFeed: () =>
          agent && {
            open: (onEvent) => {
              const unsubscribe = (agent as RunningAgent).subscribeEvents(onEvent);
              return () => void unsubscribe();
            },
          },
        readiness: () => {
          const waitingFor = agentWaits();
          return { ready: waitingFor.length === 0, waitingFor };
        },
      });
      const inProcessCore = core;
      stops.push(() => inProcessCore.stop());
    }
    const running = await runAgent(agentConfig, logger.child({ component: "agent" }), {
      emit: (summary) => {
        applied++;
        core.model.apply(summary);
      },
      ownerView: localOwner,
      preflighted,
    });
    agent = running;
    stops.push(() => running.stop());
    await probesAttached(running, opts.out);
    if (inProcess) core.alerting.goLive();
    const host = collectorConfig.listen.host || "127.0.0.1";
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${core.port}/`;
    opts.out.write(`tcpstate: dashboard and API on ${url}  (Ctrl-C to stop)\n`);
    logger.info(
      { url, demo: demo?.pods ? Object.values(demo.pods).map((p) => p.netns) : [] },
      "tcpstate local running",
    );
    let table: LiveTable | undefined;
    if (!opts.quiet && opts.out.isTTY) {
      const model = core.model;
      const alerting = core.alerting;
      const query = PodListQuerySchema.parse({ sort: "churn", window: "1m", limit: "15" });
      const ranking = new PodRanking();
      table = startLiveTable(opts.out, url, agentConfig.interval, () => ({
        pods: listPods(model, null, query, Date.now(), ranking),
        alerts: alerting.engine.list("firing"),
      }));
      stops.push(async () => table?.stop());
    }
    return { url, demo, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
