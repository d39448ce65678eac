import { z } from "zod";
import { NATS_CONFIG_SHAPE } from "../agent/wire/nats-connection.js";
import { listenAddress } from "../common/config-values.js";
import { duration } from "../common/duration.js";
import { isHostPattern } from "../common/host-header.js";
import {
  HTTP_SINK_CREDENTIAL_OPTIONS,
  type HttpSinkName,
  type HttpSinkOption,
  type HttpSinkSettings,
  loadPostTarget,
  type SinkOptionKey,
  SinkSettingsError,
  settingsProblems,
  sinkOptionFlag,
  sinkOptionKey,
} from "./alerts/sinks/http-sink-target.js";
import { redactUrl } from "./alerts/sinks/sink-url.js";
import { DEFAULT_MODEL_LIMITS } from "./model/cluster-model.js";

const DAY = 86_400_000;

const HTTP_SINKS: readonly HttpSinkName[] = ["alertmanager", "webhook"];

/** `a.example.com,*.tcpstate.example.com` → the names, each checked. */
const hostList = z.string().transform((text, ctx) => {
  const names = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.find((n) => !isHostPattern(n));
  if (bad !== undefined) {
    ctx.addIssue({
      code: "custom",
      message: `expected host names like dash.example.com or *.example.com, comma-separated, got ${JSON.stringify(bad)}`,
    });
    return z.NEVER;
  }
  return names;
});

/** A sink URL; a bad one is quoted with its userinfo redacted. */
const sinkUrl = z.string().superRefine((text, ctx) => {
  if (!/^https?:\/\/\S+$/.test(text) || !URL.canParse(text))
    ctx.addIssue({
      code: "custom",
      message: `must be an http:// or https:// URL, got ${JSON.stringify(redactUrl(text))}`,
      continue: false, // the checks across a sink's flags need its URL
    });
});

/** `--<sink>-url` and its credential flags (keys `<sink>Url`, `<sink>BearerTokenFile`, …); all optional. */
function httpSinkShape<S extends HttpSinkName>(sink: S) {
  const shape: Record<string, z.ZodOptional<z.ZodString>> = {
    [sinkOptionKey(sink, "url")]: sinkUrl.optional(),
  };
  for (const option of HTTP_SINK_CREDENTIAL_OPTIONS)
    shape[sinkOptionKey(sink, option)] = z
      .string()
      .min(1, { message: "must not be empty", abort: true })
      .optional();
  return shape as { [O in HttpSinkOption as SinkOptionKey<S, O>]: z.ZodOptional<z.ZodString> };
}

export const CollectorConfigSchema = z.object({
  ...NATS_CONFIG_SHAPE,
  natsUrl: z
    .string({ error: "is required: the NATS server(s) to consume summaries from (nats://host:port)" })
    .pipe(NATS_CONFIG_SHAPE.natsUrl.unwrap()),
  listen: listenAddress.prefault(":8080"),
  /** Host names the API and dashboard answer besides addresses, localhost and cluster names (DNS rebinding). */
  allowedHosts: hostList.prefault(""),
  /** Live event streams (`tail`) served at once. */
  maxStreamClients: z.coerce.number().int().min(1).max(10_000).default(16),
  /** How long the stream keeps summaries (and so how far back a restarted collector rebuilds). */
  retention: duration(60_000, 30 * DAY).prefault("24h"),
  /** Stream size limit in bytes (-1: none). */
  maxBytes: z.coerce.number().int().min(-1).default(-1),
  /** Longer than the agents' buffer (--buffer-windows × --interval), so a re-sent window is still a duplicate. */
  duplicateWindow: duration(60_000, DAY).prefault("20m"),
  /** How much per-pod history the collector holds in memory, at window resolution. */
  history: duration(60_000, 7 * DAY).prefault("1h"),
  /** Alert rules file (YAML), reloaded on change; the defaults without it. */
  rules: z.string().min(1, "must not be empty").optional(),
  ...httpSinkShape("alertmanager"),
  ...httpSinkShape("webhook"),
  /** How often Alertmanager is re-sent the firing alerts: shorter than its resolve_timeout (5m). */
  alertResendInterval: duration(1000, 3_600_000).prefault("1m"),
  kubeconfig: z.string().min(1, "must not be empty").optional(),
  peerNames: z.enum(["on", "off"]).default("on"),
  /**
   * Cardinality guard of /metrics: the busiest pods one by one, the rest summed into pod="_other". Always a
   * bound (no "0: unbounded"): a cluster's pod count must not decide a Prometheus's series count.
   */
  maxExportedPods: z.coerce.number().int().min(1).max(1_000_000).default(2000),
  /** Bounds of the model: past them new nodes and pods are shed (counted), so no input can exhaust memory. */
  maxNodes: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_MODEL_LIMITS.maxNodes),
  maxPods: z.coerce.number().int().min(1).max(10_000_000).default(DEFAULT_MODEL_LIMITS.maxPods),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
});

export type CollectorConfig = z.output<typeof CollectorConfigSchema>;

/** The config keys of the HTTP sinks (URL and credentials), for those who pass them on. */
export type HttpSinksConfig = Pick<CollectorConfig, SinkOptionKey<HttpSinkName, HttpSinkOption>>;

/** A sink's settings from the config, or undefined when its URL is not set. */
export function httpSinkSettings(config: HttpSinksConfig, sink: HttpSinkName): HttpSinkSettings | undefined {
  const url = config[sinkOptionKey(sink, "url")];
  if (url === undefined) return undefined;
  const settings: HttpSinkSettings = { sink, url };
  for (const option of HTTP_SINK_CREDENTIAL_OPTIONS) settings[option] = config[sinkOptionKey(sink, option)];
  return settings;
}

/**
 * What `tcpstate collector` parses: the fields, then what only shows across them or in files. Each HTTP sink's
 * options must combine (a client certificate with its key, one source per credential, TLS files for https://),
 * and its files are read and checked as the first send will read them: a missing file, a headers file's bad
 * line, a key that is not the certificate's stop start-up naming the flag. (zod cannot .omit() a refined schema,
 * so `tcpstate local`, which takes only the URLs, extends CollectorConfigSchema.)
 */
export const CollectorStartupConfigSchema = CollectorConfigSchema.superRefine((config, ctx) => {
  for (const sink of HTTP_SINKS) {
    const settings = httpSinkSettings(config, sink);
    const issue = (option: HttpSinkOption, message: string) =>
      ctx.addIssue({ code: "custom", path: [sinkOptionKey(sink, option)], message });
    if (!settings) {
      for (const option of HTTP_SINK_CREDENTIAL_OPTIONS)
        if (config[sinkOptionKey(sink, option)] !== undefined)
          issue(option, `needs ${sinkOptionFlag(sink, "url")}`);
      continue;
    }
    const problems = settingsProblems(settings);
    for (const p of problems) issue(p.option, p.message);
    if (problems.length > 0) continue;
    try {
      loadPostTarget(settings);
    } catch (err) {
      if (!(err instanceof SinkSettingsError)) throw err;
      issue(err.option, err.message);
    }
  }
});
