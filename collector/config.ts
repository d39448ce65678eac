import { z } from "zod";
import { NATS_CONFIG_SHAPE } from "../agent/wire/nats-connection.js";
import { duration, listenAddress } from "../common/config-values.js";

const DAY = 86_400_000;

export const CollectorConfigSchema = z.object({
  ...NATS_CONFIG_SHAPE,
  natsUrl: z
    .string({ error: "is required: the NATS server(s) to consume summaries from (nats://host:port)" })
    .pipe(NATS_CONFIG_SHAPE.natsUrl.unwrap()),
  listen: listenAddress.prefault(":8080"),
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
  alertmanagerUrl: z
    .string()
    .regex(/^https?:\/\/\S+$/, "must be an http:// or https:// URL")
    .optional(),
  webhookUrl: z
    .string()
    .regex(/^https?:\/\/\S+$/, "must be an http:// or https:// URL")
    .optional(),
  /** How often Alertmanager is re-sent the firing alerts: shorter than its resolve_timeout (5m). */
  alertResendInterval: duration(1000, 3_600_000).prefault("1m"),
  kubeconfig: z.string().min(1, "must not be empty").optional(),
  peerNames: z.enum(["on", "off"]).default("on"),
  /** Cardinality guard of /metrics. */
  maxExportedPods: z.coerce.number().int().min(1).max(1_000_000).default(5000),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
});

export type CollectorConfig = z.output<typeof CollectorConfigSchema>;
