import { Command, Option } from "commander";
import type { listPods } from "../collector/query/pod-query.js";
import { PodListQuerySchema, SORT_KEYS } from "../collector/query/query-params.js";
import { duration } from "../common/duration.js";
import { topTable } from "../render/pod-table.js";
import { jsonForTerminal } from "../render/terminal-text.js";
import { getJson, SERVER_HELP, serverUrl } from "./collector-client.js";
import { schemaDefault } from "./flag-table.js";
import { UsageError } from "./usage-error.js";

type PodList = ReturnType<typeof listPods>;

/** --interval: a duration like every other duration flag (a bare number is refused, as there). */
const WATCH_INTERVAL = duration(100, 3_600_000);

/** What the API ranks by and over when not asked (--limit is 20, not the API's 50: a screenful). */
const SORT = schemaDefault(PodListQuerySchema.shape.sort);
const WINDOW = schemaDefault(PodListQuerySchema.shape.window);

export function topCommand(): Command {
  return new Command("top")
    .description("Show the pods that churn TCP connections the most, or hold the most TIME_WAIT / SYN_RECV")
    .option("-n, --namespace <namespace>", "only this namespace")
    .option("-A, --all-namespaces", "every namespace (the default without -n)")
    .option("--node <node>", "only pods on this node")
    .option("--workload <workload>", "only this workload (Kind/name or name)")
    .addOption(new Option("--sort <key>", "rank by").choices(SORT_KEYS).default(SORT))
    .option("--window <duration>", "counters and churn over this window (e.g. 1m, 5m, 1h)", WINDOW)
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
