import { Command, Option } from "commander";
import { opens } from "../collector/model/churn.js";
import type { listPods } from "../collector/query/pod-query.js";
import type { PodSummary } from "../collector/query/pod-views.js";
import { SORT_KEYS } from "../collector/query/query-params.js";
import { duration } from "../common/duration.js";
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

/** --interval: a duration like every other duration flag (a bare number is refused, as there). */
const WATCH_INTERVAL = duration(100, 3_600_000);

/** A gauge as the table shows it: "~" marks an estimate (hostNetwork pods' TIME_WAIT). */
function gauge(p: PodSummary, state: "ESTABLISHED" | "TIME_WAIT" | "SYN_RECV" | "CLOSE_WAIT"): string {
  if (!p.sockets) return "-";
  return `${p.estimated.includes(state) ? "~" : ""}${p.sockets[state]}`;
}

/** The line under the table when idle entries were left out, with how to list them (`showHow`, if any). */
export function hiddenIdleNote(hidden: number, showHow?: string): string {
  if (hidden === 0) return "";
  const what = hidden === 1 ? "1 idle entry" : `${hidden} idle entries`;
  return `${what} (no transitions, sockets or listeners in the window) hidden${showHow ? `: ${showHow}` : ""}.`;
}

/** The table `top` prints; `showIdleHow` says how to list the idle entries it left out. */
export function topTable(body: PodList, wide: boolean, showIdleHow?: string): string {
  const rows = body.pods.map((p) => {
    const c = p.counters;
    const row = [
      p.namespace || `(${p.kind}@${p.node})`,
      p.name,
      rate(p.churnPerSecond),
      String(opens(c)),
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
  // hiddenIdle is absent from a collector older than the idle filter: nothing said then.
  const note = hiddenIdleNote(Number(body.hiddenIdle) || 0, showIdleHow);
  const seconds = escapeForTerminal(String(body.window.seconds));
  const table =
    rows.length === 0
      ? `No pods ${note ? "with activity" : "seen"} in the last ${seconds} s.`
      : textTable(wide ? [...HEADERS, ...WIDE] : HEADERS, rows, new Set([2, 3, 4, 5, 6, 7, 8, 9, 10]));
  return note ? `${table}\n${note}` : table;
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
    .option("--interval <duration>", "redraw interval with --watch (e.g. 500ms, 2s, 1m)", "2s")
    .option("--show-idle", "also list entries with no transitions, sockets or listeners in the window")
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
      if (opts.showIdle) q.set("idle", "show");
      const interval = WATCH_INTERVAL.safeParse(opts.interval);
      if (!interval.success)
        throw new UsageError(`invalid --interval: ${interval.error.issues[0]?.message ?? "not a duration"}`);
      const render = async () => {
        const body = await getJson<PodList>(server, `/api/v1/pods?${q}`);
        return opts.output === "json"
          ? jsonForTerminal(body, 2)
          : topTable(body, opts.output === "wide", "--show-idle lists them");
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
        await new Promise((r) => setTimeout(r, interval.data));
      }
    });
}
