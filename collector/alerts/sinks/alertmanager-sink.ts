/**
 * Alertmanager v2 API (POST /api/v2/alerts): the firing alerts and those resolved recently are posted at once
 * on each change and re-sent every `resendIntervalMs` (shorter than Alertmanager's resolve_timeout, 5m by
 * default), like Prometheus does. Firing alerts carry endsAt = now + 4 × the interval, so Alertmanager resolves
 * them by itself if the collector goes away; resolved ones carry their endsAt. startsAt stays the alert's own,
 * so Alertmanager (which identifies alerts by labels) sees one alert across re-sends and collector restarts.
 * The whole current set is posted each time: a failed post is retried with backoff; nothing queues up.
 */
import type { Logger } from "pino";
import { backoffDelay } from "../../../common/backoff.js";
import type { AlertEvent } from "../alert-event.js";
import { type HttpSinkSettings, postToSink, sinkLabel } from "./http-sink-target.js";

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** What Alertmanager is told, given the firing and recently resolved alerts, at wall time `now`. */
export function alertmanagerPayload(
  firing: readonly AlertEvent[],
  resolved: readonly AlertEvent[],
  now: number,
  resendIntervalMs: number,
): AlertmanagerAlert[] {
  const until = new Date(now + 4 * resendIntervalMs).toISOString();
  const firingKeys = new Set(firing.map((e) => e.fingerprint));
  return [
    // A resolved alert whose labels fire again is only sent as firing.
    ...resolved
      .filter((e) => !firingKeys.has(e.fingerprint))
      .map((e) => ({
        labels: e.labels,
        annotations: e.annotations,
        startsAt: e.startsAt,
        endsAt: e.endsAt ?? e.startsAt,
      })),
    ...firing.map((e) => ({
      labels: e.labels,
      annotations: e.annotations,
      startsAt: e.startsAt,
      endsAt: until,
    })),
  ];
}

export function alertmanagerEndpoint(url: string): string {
  const base = url.replace(/\/+$/, "");
  return base.endsWith("/api/v2/alerts") ? base : `${base}/api/v2/alerts`;
}

export interface AlertmanagerSinkOptions {
  /** The Alertmanager's URL (the API path is added) and credentials. */
  target: HttpSinkSettings;
  resendIntervalMs: number;
  logger: Logger;
  alerts(): { firing: AlertEvent[]; resolved: AlertEvent[] };
}

export class AlertmanagerSink {
  sent = 0;
  errors = 0;
  readonly dropped = 0;
  readonly queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private failures = 0;
  private readonly endpoint: HttpSinkSettings;
  /** The endpoint as logged: userinfo redacted. */
  private readonly label: string;

  constructor(private readonly opts: AlertmanagerSinkOptions) {
    this.endpoint = { ...opts.target, url: alertmanagerEndpoint(opts.target.url) };
    this.label = sinkLabel(this.endpoint);
  }

  /** Posts now, then every resend interval (sooner after a failure, with backoff). */
  start(): void {
    this.notify();
  }

  /** Something changed: post the current set as soon as the post in flight (if any) is done. */
  notify(): void {
    if (this.closed) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.inFlight = this.post().finally(() => {
      this.inFlight = undefined;
      if (this.closed) return;
      if (this.again) {
        this.again = false;
        this.notify();
        return;
      }
      // After failures: 2 s, 4 s, 8 s… up to the resend interval.
      const wait =
        this.failures > 0
          ? backoffDelay(this.failures - 1, { initialMs: 2000, maxMs: this.opts.resendIntervalMs })
          : this.opts.resendIntervalMs;
      this.timer = setTimeout(() => this.notify(), wait);
    });
  }

  private async post(): Promise<void> {
    const { firing, resolved } = this.opts.alerts();
    const payload = alertmanagerPayload(firing, resolved, Date.now(), this.opts.resendIntervalMs);
    if (payload.length === 0) return;
    try {
      await postToSink(this.endpoint, payload);
      this.sent += payload.length;
      if (this.failures > 0)
        this.opts.logger.info({ sink: "alertmanager", url: this.label }, "Alertmanager reachable again");
      this.failures = 0;
    } catch (err) {
      this.errors++;
      if (this.failures === 0)
        this.opts.logger.error(
          { sink: "alertmanager", url: this.label, err: (err as Error).message, alerts: payload.length },
          "cannot post alerts to Alertmanager; retrying with backoff",
        );
      this.failures++;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.inFlight;
  }
}
