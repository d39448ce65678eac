import { Command, Option } from "commander";
import type { listPods, PodSummary } from "../collector/query/pod-query.js";
import { SORT_KEYS } from "../collector/query/query-params.js";
import { getJson, SERVER_HELP, serverUrl } from "./collector-client.js";
import { escapeForTerminal, jsonForTerminal } from "./terminal-text.js";
import { rate, textTable } from "./text-table.js";
import { UsageError } from "./usage-error.js";

type PodList = ReturnType<typeof listPods>;

const HEADERS = [
  "NAMESPACE",
  "POD",
  "CHURN/s",
  "OPENS",
  "CLOSES",
  "FAILED",
  "RESETS",
  "ESTAB",
  "TIME_WAIT",
  "SYN_RECV",
  "CLOSE_WAIT",
];
const WIDE = ["NODE", "WORKLOAD", "LISTENERS", "TOP DESTINATION"];

/** A gauge as the table shows it: "~" marks an estimate (hostNetwork pods' TIME_WAIT). */
function gauge(p: PodSummary, state: "ESTABLISHED" | "TIME_WAIT" | "SYN_RECV" | "CLOSE_WAIT"): string {
  if (!p.sockets) return "-";
  return `${p.estimated.includes(state) ? "~" : ""}${p.sockets[state]}`;
}

export function topTable(body: PodList, wide: boolean): string {
  const rows = body.pods.map((p) => {
    const c = p.counters;
    const row = [
      p.namespace || `(${p.kind}@${p.node})`,
      p.name,
      rate(p.churnPerSecond),
      String(c.active_opens + c.passive_opens),
      String(c.closes),
      String(c.failed_connects),
      String(c.resets),
      gauge(p, "ESTABLISHED"),
      gauge(p, "TIME_WAIT"),
      gauge(p, "SYN_RECV"),
      gauge(p, "CLOSE_WAIT"),
    ];
    if (wide) {
      const l = p.listenersUnderPressure[0];
      const d = p.topDestinations.connects[0];
      row.push(
        p.node,
        p.workload ?? "",
        l ? `:${l.port} syn=${l.synQueue} accept=${l.acceptQueue}/${l.backlog}` : "",
        d ? `${d.peer ?? d.endpoint} (${d.count})` : "",
      );
    }
    return row;
  });
  if (rows.length === 0)
    return `No pods seen in the last ${escapeForTerminal(String(body.window.seconds))} s.`;
  return textTable(wide ? [...HEADERS, ...WIDE] : HEADERS, rows, new Set([2, 3, 4, 5, 6, 7, 8, 9, 10]));
}

export function topCommand(): Command {
  return new Command("top")
    .description("Show the pods that churn TCP connections the most, or hold the most TIME_WAIT / SYN_RECV")
    .option("-n, --namespace <namespace>", "only this namespace")
    .option("-A, --all-namespaces", "every namespace (the default without -n)")
    .option("--node <node>", "only pods on this node")
    .option("--workload <workload>", "only this workload (Kind/name or name)")
    .addOption(new Option("--sort <key>", "rank by").choices(SORT_KEYS).default("churn"))
    .option("--window <duration>", "counters and churn over this window (e.g. 1m, 5m, 1h)", "5m")
    .option("--limit <n>", "rows", "20")
    .option("-w, --watch", "redraw every --interval until interrupted")
    .option("--interval <seconds>", "redraw interval with --watch", "2")
    .addOption(
      new Option("-o, --output <format>", "output format")
        .choices(["table", "wide", "json"])
        .default("table"),
    )
    .option("--server <url>", SERVER_HELP)
    .action(async (opts) => {
      if (opts.namespace && opts.allNamespaces) throw new UsageError("-n and -A exclude each other");
      const server = serverUrl(opts.server);
      const q = new URLSearchParams({ sort: opts.sort, window: opts.window, limit: opts.limit });
      for (const key of ["namespace", "node", "workload"] as const) if (opts[key]) q.set(key, opts[key]);
      const interval = Number(opts.interval);
      if (!(interval > 0))
        throw new UsageError(`invalid --interval "${opts.interval}": expected seconds > 0`);
      const render = async () => {
        const body = await getJson<PodList>(server, `/api/v1/pods?${q}`);
        return opts.output === "json" ? jsonForTerminal(body, 2) : topTable(body, opts.output === "wide");
      };
      if (!opts.watch) {
        process.stdout.write(`${await render()}\n`);
        return;
      }
      const tty = process.stdout.isTTY;
      for (;;) {
        const text = await render();
        // In place on a terminal (cursor home, clear), one screen after another elsewhere.
        process.stdout.write(tty ? `\x1b[H\x1b[2J${text}\n` : `${text}\n\n`);
        await new Promise((r) => setTimeout(r, interval * 1000));
      }
    });
}
