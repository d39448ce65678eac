import { Command } from "commander";
import { pino } from "pino";
import {
  HTTP_SINK_CREDENTIAL_OPTIONS,
  type HttpSinkName,
  type HttpSinkOption,
  sinkOptionFlag,
  sinkOptionKey,
} from "../collector/alerts/sinks/http-sink-target.js";
import { CollectorConfigSchema, CollectorStartupConfigSchema } from "../collector/config.js";
import { addFlags, describeConfigIssues, type Flag, NATS_FLAGS, withSchemaDefaults } from "./flag-table.js";
import { stopOnSignals } from "./service-lifecycle.js";
import { UsageError } from "./usage-error.js";

/** The argument and help of an HTTP sink's credential flags; the files are read again on every send. */
const HTTP_SINK_FLAG_HELP: Record<
  (typeof HTTP_SINK_CREDENTIAL_OPTIONS)[number],
  [arg: string, help: string]
> = {
  bearerTokenFile: ["<path>", "file holding a bearer token (Authorization: Bearer), re-read on each send"],
  basicAuthUser: ["<user>", "basic-auth user (or user:password@ in the URL)"],
  basicAuthPasswordFile: ["<path>", "file holding the basic-auth password, re-read on each send"],
  headersFile: ["<path>", "file of extra headers, one 'Name: value' a line, re-read on each send"],
  tlsCaFile: ["<path>", "PEM CA bundle that verifies the server, instead of the system's CAs"],
  tlsCertFile: ["<path>", "PEM client certificate (mutual TLS), with the key file"],
  tlsKeyFile: ["<path>", "PEM key of the client certificate, unencrypted"],
};

/** `--<sink>-url` and its credential flags; the env var of `--webhook-tls-ca-file` is WEBHOOK_TLS_CA_FILE. */
function httpSinkFlags(sink: HttpSinkName, title: string, urlHelp: string): Flag[] {
  const flag = (option: HttpSinkOption, arg: string, help: string): Flag => {
    const name = sinkOptionFlag(sink, option);
    return {
      key: sinkOptionKey(sink, option),
      flag: `${name} ${arg}`,
      env: name.slice(2).replace(/-/g, "_").toUpperCase(),
      help,
    };
  };
  return [
    flag("url", "<url>", urlHelp),
    ...HTTP_SINK_CREDENTIAL_OPTIONS.map((o) =>
      flag(o, HTTP_SINK_FLAG_HELP[o][0], `${title}: ${HTTP_SINK_FLAG_HELP[o][1]}`),
    ),
  ];
}

const COLLECTOR_FLAG_TABLE: readonly Flag[] = [
  ...NATS_FLAGS,
  {
    key: "listen",
    flag: "--listen <[host]:port>",
    env: "LISTEN",
    help: "serve the API, /metrics, /healthz, /readyz here",
  },
  {
    key: "allowedHosts",
    flag: "--allowed-hosts <names>",
    env: "ALLOWED_HOSTS",
    help: "host names (comma-separated, *.suffix allowed) the API answers besides IPs, localhost and cluster names",
  },
  {
    key: "maxStreamClients",
    flag: "--max-stream-clients <n>",
    env: "MAX_STREAM_CLIENTS",
    help: "live event streams (tail) served at once; more are answered 503",
  },
  {
    key: "retention",
    flag: "--retention <duration>",
    env: "RETENTION",
    help: "how long the stream keeps summaries",
  },
  {
    key: "maxBytes",
    flag: "--max-bytes <n>",
    env: "MAX_BYTES",
    help: "stream size limit in bytes (-1: none)",
  },
  {
    key: "duplicateWindow",
    flag: "--duplicate-window <duration>",
    env: "DUPLICATE_WINDOW",
    help: "JetStream de-duplication window; longer than the agents' buffer",
  },
  {
    key: "history",
    flag: "--history <duration>",
    env: "HISTORY",
    help: "per-pod history kept in memory",
  },
  {
    key: "rules",
    flag: "--rules <path>",
    env: "RULES",
    help: "alert rules file (YAML), reloaded on change (default: the built-in rules)",
  },
  ...httpSinkFlags("alertmanager", "Alertmanager", "send alerts to this Alertmanager (v2 API)"),
  ...httpSinkFlags("webhook", "webhook", "POST each firing and resolved alert here as JSON"),
  {
    key: "alertResendInterval",
    flag: "--alert-resend-interval <duration>",
    env: "ALERT_RESEND_INTERVAL",
    help: "re-send firing alerts to Alertmanager this often (shorter than its resolve_timeout)",
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
  },
  {
    key: "maxExportedPods",
    flag: "--max-exported-pods <n>",
    env: "MAX_EXPORTED_PODS",
    help: 'pods exported on /metrics, the busiest first; the rest summed into pod="_other"',
  },
  {
    key: "maxNodes",
    flag: "--max-nodes <n>",
    env: "MAX_NODES",
    help: "nodes tracked at most; summaries of further ones are shed (counted in tcpstate_collector_shed_total)",
  },
  {
    key: "maxPods",
    flag: "--max-pods <n>",
    env: "MAX_PODS",
    help: "pods (and host/netns entries) tracked at most; further ones are shed (counted)",
  },
  {
    key: "logLevel",
    flag: "--log-level <level>",
    env: "LOG_LEVEL",
    help: "trace, debug, info, warn, error",
  },
];

/** The table with its defaults from the config schema, so `--help` shows what the collector uses. */
export const COLLECTOR_FLAGS = withSchemaDefaults(COLLECTOR_FLAG_TABLE, CollectorConfigSchema.shape);

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
    const parsed = CollectorStartupConfigSchema.safeParse(opts);
    if (!parsed.success) throw new UsageError(describeConfigIssues(parsed.error, COLLECTOR_FLAGS));
    const config = parsed.data;
    const logger = pino({ level: config.logLevel, base: { component: "collector" } }, pino.destination(2));
    const { runCollector } = await import("../collector/main.js");
    const collector = await runCollector(config, logger);
    stopOnSignals(logger, () => collector.stop());
  });
  return cmd;
}
