import { Command } from "commander";
import { pino } from "pino";
import { CollectorConfigSchema } from "../collector/config.js";
import { addFlags, describeConfigIssues, type Flag, NATS_FLAGS } from "./flag-table.js";
import { stopOnSignals } from "./service-lifecycle.js";
import { UsageError } from "./usage-error.js";

export const COLLECTOR_FLAGS: readonly Flag[] = [
  ...NATS_FLAGS,
  {
    key: "listen",
    flag: "--listen <[host]:port>",
    env: "LISTEN",
    help: "serve the API, /metrics, /healthz, /readyz here",
    def: ":8080",
  },
  {
    key: "retention",
    flag: "--retention <duration>",
    env: "RETENTION",
    help: "how long the stream keeps summaries",
    def: "24h",
  },
  {
    key: "maxBytes",
    flag: "--max-bytes <n>",
    env: "MAX_BYTES",
    help: "stream size limit in bytes (-1: none)",
    def: "-1",
  },
  {
    key: "duplicateWindow",
    flag: "--duplicate-window <duration>",
    env: "DUPLICATE_WINDOW",
    help: "JetStream de-duplication window; longer than the agents' buffer",
    def: "20m",
  },
  {
    key: "history",
    flag: "--history <duration>",
    env: "HISTORY",
    help: "per-pod history kept in memory",
    def: "1h",
  },
  {
    key: "rules",
    flag: "--rules <path>",
    env: "RULES",
    help: "alert rules file (YAML), reloaded on change (default: the built-in rules)",
  },
  {
    key: "alertmanagerUrl",
    flag: "--alertmanager-url <url>",
    env: "ALERTMANAGER_URL",
    help: "send alerts to this Alertmanager (v2 API)",
  },
  {
    key: "webhookUrl",
    flag: "--webhook-url <url>",
    env: "WEBHOOK_URL",
    help: "POST each firing and resolved alert here as JSON",
  },
  {
    key: "alertResendInterval",
    flag: "--alert-resend-interval <duration>",
    env: "ALERT_RESEND_INTERVAL",
    help: "re-send firing alerts to Alertmanager this often (shorter than its resolve_timeout)",
    def: "1m",
  },
  {
    key: "kubeconfig",
    flag: "--kubeconfig <path>",
    env: "KUBECONFIG_PATH",
    help: "kubeconfig file, to name peers (default: in-cluster config, then $KUBECONFIG)",
  },
  {
    key: "peerNames",
    flag: "--peer-names <mode>",
    env: "PEER_NAMES",
    help: "on: list/watch pods and services (read-only) to name destinations; off: addresses only",
    def: "on",
  },
  {
    key: "maxExportedPods",
    flag: "--max-exported-pods <n>",
    env: "MAX_EXPORTED_PODS",
    help: 'pods exported on /metrics, the busiest first; the rest summed into pod="_other"',
    def: "5000",
  },
  {
    key: "logLevel",
    flag: "--log-level <level>",
    env: "LOG_LEVEL",
    help: "trace, debug, info, warn, error",
    def: "info",
  },
];

export function collectorCommand(): Command {
  const cmd = new Command("collector")
    .description(
      "Run the collector: consume every node's summaries from NATS JetStream, keep cluster-wide history",
    )
    .addHelpText(
      "after",
      "\nLogs go to stderr as JSON (pino). Every flag can also be set by the environment variable shown.",
    );
  addFlags(cmd, COLLECTOR_FLAGS);
  cmd.action(async (opts: Record<string, unknown>) => {
    const parsed = CollectorConfigSchema.safeParse(opts);
    if (!parsed.success) throw new UsageError(describeConfigIssues(parsed.error, COLLECTOR_FLAGS));
    const config = parsed.data;
    const logger = pino({ level: config.logLevel, base: { component: "collector" } }, pino.destination(2));
    const { runCollector } = await import("../collector/main.js");
    const collector = await runCollector(config, logger);
    stopOnSignals(logger, () => collector.stop());
  });
  return cmd;
}
