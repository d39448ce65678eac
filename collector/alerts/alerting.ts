/**
 * Alerts in the collector: the rules (from --rules, reloaded on change), the engine fed by every applied window,
 * GET /api/v1/alerts, the metrics, and the sinks — NATS JetStream, Alertmanager, a webhook. Sinks stay silent
 * while the collector replays the stream (the replay rebuilds the alert state); once caught up, what the alerts
 * stream lacks is published (an alert that fired or resolved while no collector ran), then every transition is
 * sent as it happens.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { ConfigError } from "../../common/config-values.js";
import { type HttpSinksConfig, httpSinkSettings } from "../config.js";
import { retrySetUp } from "../jetstream-stream.js";
import type { ClusterModel } from "../model/cluster-model.js";
import { AlertEngine } from "./alert-engine.js";
import { type AlertEvent, eventId } from "./alert-event.js";
import { registerAlertsMetrics } from "./alerts-metrics.js";
import { alertsRoutes } from "./alerts-routes.js";
import { defaultRules, RulesFileError } from "./rules-file.js";
import { loadRulesFile, RulesWatcher } from "./rules-watcher.js";
import { AlertmanagerSink } from "./sinks/alertmanager-sink.js";
import type { DeliveryQueue, DeliveryStats } from "./sinks/delivery-queue.js";
import { ensureAlertStream, natsAlertSink, readAlertStream } from "./sinks/nats-sink.js";
import { webhookSink } from "./sinks/webhook-sink.js";

/** The sinks' URLs and credentials are the config's `--alertmanager-*` and `--webhook-*` flags. */
export interface AlertingOptions extends HttpSinksConfig {
  rules?: string | undefined;
  /** How often Alertmanager is re-sent the firing alerts. */
  alertResendInterval: number;
  /** The alerts stream keeps events this long (the collector's --retention). */
  retention: number;
  duplicateWindow: number;
  logger: Logger;
}

/** Events the alerts stream lacks, oldest first: those of firing alerts and of alerts resolved recently. */
export function missingEvents(
  firing: readonly AlertEvent[],
  resolved: readonly AlertEvent[],
  published: ReadonlySet<string>,
): AlertEvent[] {
  const out: { at: string; event: AlertEvent }[] = [];
  for (const e of resolved) {
    const fired: AlertEvent = { ...e, status: "firing", endsAt: null };
    if (!published.has(eventId(fired))) out.push({ at: e.firedAt, event: fired });
    if (!published.has(eventId(e))) out.push({ at: e.endsAt ?? e.firedAt, event: e });
  }
  for (const e of firing) if (!published.has(eventId(e))) out.push({ at: e.firedAt, event: e });
  return out.sort((a, b) => a.at.localeCompare(b.at)).map((x) => x.event);
}

/**
 * Alerts the stream shows firing (their newest event) that the engine neither has firing nor resolved with the
 * same start: the replay did not rebuild them (the rules changed meanwhile, or the summaries aged out). They
 * are resolved at `now`, so no consumer keeps an alert firing forever.
 */
export function orphanedFirings(
  last: ReadonlyMap<string, AlertEvent>,
  firing: readonly AlertEvent[],
  resolved: readonly AlertEvent[],
  now: number,
): AlertEvent[] {
  const known = new Set([...firing, ...resolved].map((e) => `${e.fingerprint}/${e.startsAt}`));
  return [...last.values()]
    .filter((e) => e.status === "firing" && !known.has(`${e.fingerprint}/${e.startsAt}`))
    .map((e) => ({ ...e, status: "resolved", endsAt: new Date(now).toISOString() }));
}

export class Alerting {
  readonly engine: AlertEngine;
  readonly routes: ReturnType<typeof alertsRoutes>;
  private readonly watcher: RulesWatcher | undefined;
  private readonly sinks = new Map<string, DeliveryStats>();
  private readonly queues: DeliveryQueue<AlertEvent>[] = [];
  private alertmanager: AlertmanagerSink | undefined;
  private live = false;
  private stopped = false;
  private sweepTimer: NodeJS.Timeout | undefined;

  /** Loads the rules (throws RulesFileError when they are invalid) and listens to the model. */
  constructor(
    model: ClusterModel,
    private readonly opts: AlertingOptions,
  ) {
    const log = opts.logger;
    this.engine = new AlertEngine(opts.rules ? loadRulesFile(opts.rules) : defaultRules());
    log.info({ file: opts.rules ?? null }, opts.rules ? "alert rules loaded" : "alert rules: the defaults");
    if (opts.rules) {
      this.watcher = new RulesWatcher(opts.rules, (rules) => this.engine.setRules(rules), log);
    }
    this.routes = alertsRoutes(this.engine);
    model.onApplied((summary) => this.engine.apply(summary));
    this.engine.onEvent((event) => {
      if (!this.live) return;
      for (const q of this.queues) q.push(event);
      this.alertmanager?.notify();
    });
    const webhook = httpSinkSettings(opts, "webhook");
    if (webhook) {
      const q = webhookSink(webhook, log);
      this.queues.push(q);
      this.sinks.set("webhook", q);
    }
    const alertmanager = httpSinkSettings(opts, "alertmanager");
    if (alertmanager) {
      this.alertmanager = new AlertmanagerSink({
        target: alertmanager,
        resendIntervalMs: opts.alertResendInterval,
        logger: log,
        alerts: () => ({ firing: this.engine.firingEvents(), resolved: this.engine.resolvedEvents() }),
      });
      this.sinks.set("alertmanager", this.alertmanager);
    }
  }

  register(registry: Registry): void {
    const rules = this.watcher ?? { reloads: 0, failures: 0 };
    registerAlertsMetrics(registry, { engine: this.engine, rules, sinks: this.sinks });
  }

  /**
   * Starts the sinks once the collector has caught up with the summaries stream: NATS gets what its alerts
   * stream lacks (so does the webhook), Alertmanager the current set; from then on every transition.
   */
  async attach(nc: NatsConnection, caughtUp: () => boolean): Promise<void> {
    const log = this.opts.logger;
    const nats = natsAlertSink(nc, log);
    this.sinks.set("nats", nats);
    const published = await retrySetUp(
      "read the alerts stream",
      log,
      () => this.stopped,
      1000,
      async () => {
        while (!caughtUp() && !this.stopped) await new Promise((r) => setTimeout(r, 200));
        await ensureAlertStream(await jetstreamManager(nc), {
          retentionMs: this.opts.retention,
          duplicateWindowMs: this.opts.duplicateWindow,
        });
        return readAlertStream(nc);
      },
    );
    if (this.stopped || !published) return;
    const firing = this.engine.firingEvents();
    const orphans = orphanedFirings(
      published.last,
      firing,
      this.engine.resolvedEvents(),
      this.engine.dataTime || Date.now(),
    );
    for (const e of orphans) this.engine.adoptResolved(e);
    const missing = missingEvents(firing, this.engine.resolvedEvents(), published.ids);
    this.queues.push(nats);
    for (const e of missing) for (const q of this.queues) q.push(e);
    this.goLive();
    log.info(
      {
        firing: firing.length,
        pending: this.engine.list("pending").length,
        catchUpEvents: missing.length,
      },
      "alert sinks live",
    );
  }

  /**
   * From now on every transition goes to the sinks, Alertmanager is re-sent the firing set, pods gone quiet are
   * swept. Without NATS (`tcpstate local`) this is all there is to attaching: no stream to replay or catch up.
   */
  goLive(): void {
    if (this.live || this.stopped) return;
    this.live = true;
    this.alertmanager?.start();
    this.sweepTimer = setInterval(() => this.engine.sweep(Date.now()), 15_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    clearInterval(this.sweepTimer);
    this.watcher?.stop();
    await Promise.all([this.alertmanager?.close(), ...this.queues.map((q) => q.close())]);
  }
}

/** The collector's alerting; invalid rules stop start-up (ConfigError: exit code 2, the message names file, rule, field). */
export function createAlerting(model: ClusterModel, opts: AlertingOptions): Alerting {
  try {
    return new Alerting(model, opts);
  } catch (err) {
    if (err instanceof RulesFileError) throw new ConfigError(err.message, { cause: err });
    throw err;
  }
}
