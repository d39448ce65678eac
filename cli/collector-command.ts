import { Command } from "commander";
import { pino } from "pino";
import { ConfigError } from "../agent/wire/nats-connection.js";
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
    let collector: Awaited<ReturnType<typeof runCollector>>;
    try {
      collector = await runCollector(config, logger);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    stopOnSignals(logger, () => collector.stop());
  });
  return cmd;
}
