import { Command } from "commander";
import { pino } from "pino";
import { AgentConfigSchema } from "../agent/config.js";
import { jsonForTerminal } from "../render/terminal-text.js";
import {
  addFlags,
  describeConfigIssues,
  type Flag,
  NATS_FLAGS,
  switchOn,
  withSchemaDefaults,
} from "./flag-table.js";
import { stopOnSignals } from "./service-lifecycle.js";
import { UsageError } from "./usage-error.js";

/** Every agent flag: its config key, the env var that also sets it, and its help. One table, one truth. */
const AGENT_FLAG_TABLE: readonly Flag[] = [
  {
    key: "nodeName",
    flag: "--node-name <name>",
    env: "NODE_NAME",
    help: "this node's name (default in --standalone: the hostname)",
  },
  {
    key: "kubeconfig",
    flag: "--kubeconfig <path>",
    env: "KUBECONFIG_PATH",
    help: "kubeconfig file (default: in-cluster config, then $KUBECONFIG)",
  },
  {
    key: "interval",
    flag: "--interval <duration>",
    env: "INTERVAL",
    help: "window length",
  },
  {
    key: "metricsAddr",
    flag: "--metrics-addr <[host]:port>",
    env: "METRICS_ADDR",
    help: "serve /metrics, /healthz, /readyz, /events here",
  },
  {
    key: "standalone",
    flag: "--standalone",
    env: "STANDALONE",
    help: "no kube API: a pod is a network namespace; summaries as JSON lines on stdout",
  },
  {
    key: "bpftrace",
    flag: "--bpftrace <path>",
    env: "BPFTRACE",
    help: "bpftrace binary (0.17 or newer)",
  },
  {
    key: "procRoot",
    flag: "--proc-root <path>",
    env: "PROC_ROOT",
    help: "the host's /proc (when mounted elsewhere)",
  },
  {
    key: "netnsDir",
    flag: "--netns-dir <path>",
    env: "NETNS_DIR",
    help: "named network namespaces (ip netns, CNI)",
  },
  {
    key: "tracefs",
    flag: "--tracefs <path>",
    env: "TRACEFS",
    help: "tracefs mount point",
  },
  {
    key: "cgroupRoot",
    flag: "--cgroup-root <path>",
    env: "CGROUP_ROOT",
    help: "cgroup v2 mount, or the host's cgroup tree holding it (a hybrid host's /sys/fs/cgroup/unified is found), for hostNetwork pods (default: found in the mountinfo)",
  },
  {
    key: "bufferWindows",
    flag: "--buffer-windows <n>",
    env: "BUFFER_WINDOWS",
    help: "summaries kept while NATS is unreachable (120 = 10 min of 5 s windows); oldest dropped first",
  },
  {
    key: "events",
    flag: "--events <mode>",
    env: "EVENTS",
    help: "per-event stream on NATS tcpstate.v1.events.<node>: on-demand (while a tail holds a lease), always, off",
  },
  {
    key: "maxLabels",
    flag: "--max-labels <n>",
    env: "MAX_LABELS",
    help: "pod labels kept per pod",
  },
  {
    key: "eventsPerSecond",
    flag: "--events-per-second <n>",
    env: "EVENTS_PER_SECOND",
    help: "rate limit of the live event stream",
  },
  {
    key: "httpEvents",
    flag: "--http-events <mode>",
    env: "HTTP_EVENTS",
    help: "/events on --metrics-addr: auto (only without --nats-url; with it `tail` goes through the collector), on, off",
  },
  {
    key: "logLevel",
    flag: "--log-level <level>",
    env: "LOG_LEVEL",
    help: "trace, debug, info, warn, error",
  },
  ...NATS_FLAGS,
];

/** The table with its defaults from the config schema, so `--help` shows what the agent uses. */
export const AGENT_FLAGS = withSchemaDefaults(AGENT_FLAG_TABLE, AgentConfigSchema.in.shape);

export function agentCommand(): Command {
  const cmd = new Command("agent")
    .description(
      "Run the node agent: count TCP transitions per pod with bpftrace and publish a summary per window",
    )
    .addHelpText(
      "after",
      "\nSummaries go to stdout as one JSON line per window; logs go to stderr as JSON (pino).\nEvery flag can also be set by the environment variable shown.",
    );
  addFlags(cmd, AGENT_FLAGS);
  cmd.action(async (opts: Record<string, unknown>) => {
    if (opts.standalone !== undefined) opts.standalone = switchOn(opts.standalone);
    const parsed = AgentConfigSchema.safeParse(opts);
    if (!parsed.success) throw new UsageError(describeConfigIssues(parsed.error, AGENT_FLAGS));
    const config = parsed.data;
    const logger = pino(
      { level: config.logLevel, base: { component: "agent", node: config.nodeName } },
      pino.destination(2),
    );
    // Loaded here, not at the top: `tcpstate collector` and `--help` need none of the agent's libraries.
    const { runAgent } = await import("../agent/main.js");
    const agent = await runAgent(config, logger, {
      emit: (summary) => process.stdout.write(`${jsonForTerminal(summary)}\n`),
    });
    stopOnSignals(logger, () => agent.stop());
  });
  return cmd;
}
