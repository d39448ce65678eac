import { Command } from "commander";
import { pino } from "pino";
import { AgentConfigSchema } from "../agent/config.js";
import { CollectorConfigSchema } from "../collector/config.js";
import { AGENT_FLAGS } from "./agent-command.js";
import { COLLECTOR_FLAGS } from "./collector-command.js";
import { addFlags, describeConfigIssues, type Flag, switchOn } from "./flag-table.js";
import { stopOnSignals } from "./service-lifecycle.js";
import { UsageError } from "./usage-error.js";

const pick = (flags: readonly Flag[], keys: string[]) =>
  keys.map((k) => flags.find((f) => f.key === k) as Flag);

const AGENT_KEYS = [
  "interval",
  "bpftrace",
  "procRoot",
  "netnsDir",
  "tracefs",
  "cgroupRoot",
  "eventsPerSecond",
];
const COLLECTOR_KEYS = ["history", "rules", "alertmanagerUrl", "webhookUrl", "maxExportedPods", "natsUrl"];

export const LOCAL_FLAGS: readonly Flag[] = [
  {
    key: "demo",
    flag: "--demo",
    env: "TCPSTATE_DEMO",
    help: "also run demo pods with traffic (removed on exit)",
  },
  { key: "quiet", flag: "--quiet", env: "TCPSTATE_QUIET", help: "no live table on the terminal" },
  {
    key: "listen",
    flag: "--listen <[host]:port>",
    env: "LISTEN",
    help: "serve the dashboard, API, /metrics here",
    def: "127.0.0.1:8080",
  },
  ...pick(AGENT_FLAGS, AGENT_KEYS),
  ...pick(COLLECTOR_FLAGS, COLLECTOR_KEYS).map((f) =>
    f.key === "natsUrl"
      ? { ...f, help: "go through NATS JetStream (as in a cluster) instead of in process" }
      : f,
  ),
  {
    key: "logLevel",
    flag: "--log-level <level>",
    env: "LOG_LEVEL",
    help: "trace … error (logs: stderr, JSON)",
    def: "warn",
  },
];

/** Options → the agent's and the collector's configs; a bad value is a usage error naming its flag. */
function localConfig(opts: Record<string, unknown>) {
  const only = (keys: string[]) =>
    Object.fromEntries(keys.filter((k) => opts[k] !== undefined).map((k) => [k, opts[k]]));
  const agent = AgentConfigSchema.safeParse({
    ...only(AGENT_KEYS),
    // With --nats-url the agent publishes there, as in a cluster, and the collector consumes.
    ...only(["natsUrl"]),
    standalone: true,
    metricsAddr: "127.0.0.1:0",
    logLevel: opts.logLevel,
  });
  const collector = CollectorConfigSchema.omit({ natsUrl: true })
    .extend({ natsUrl: CollectorConfigSchema.shape.natsUrl.optional() })
    .safeParse({ ...only([...COLLECTOR_KEYS, "listen"]), peerNames: "off", logLevel: opts.logLevel });
  if (!agent.success || !collector.success) {
    // A flag both configs take (--log-level) is said once.
    const lines = [agent, collector].flatMap((r) =>
      r.success ? [] : describeConfigIssues(r.error, LOCAL_FLAGS).split("\n"),
    );
    throw new UsageError([...new Set(lines)].join("\n"));
  }
  return {
    logLevel: agent.data.logLevel,
    demo: switchOn(opts.demo),
    quiet: switchOn(opts.quiet),
    agent: agent.data,
    collector: collector.data,
  };
}

export function localCommand(): Command {
  const cmd = new Command("local")
    .description(
      "Run the whole system on this host: agent and collector in one process, this host's network namespaces as pods, dashboard and API on http://127.0.0.1:8080",
    )
    .addHelpText(
      "after",
      "\nNeeds root, bpftrace (≥ 0.17), tracefs and kernel BTF; --demo also iproute2 and python3.\nEvery flag can also be set by the environment variable shown.",
    );
  addFlags(cmd, LOCAL_FLAGS);
  cmd.action(async (opts: Record<string, unknown>) => {
    const config = localConfig(opts);
    const logger = pino({ level: config.logLevel, base: { component: "local" } }, pino.destination(2));
    // Loaded here, not at the top: other commands and --help need none of the agent's libraries.
    const { runLocal, DEMO_RULES } = await import("../local/main.js");
    // The demo's buildups should fire within seconds: its rules have short `for`s (unless --rules says else).
    const collector =
      config.demo && !config.collector.rules ? { ...config.collector, rules: DEMO_RULES } : config.collector;
    const local = await runLocal(
      { agent: config.agent, collector, demo: config.demo, quiet: config.quiet, out: process.stdout },
      logger,
    );
    stopOnSignals(logger, () => local.stop());
  });
  return cmd;
}
