import { Command, Option } from "commander";
import { opens } from "../collector/model/churn.js";
import type { podDetail } from "../collector/query/pod-views.js";
import { PodDetailQuerySchema } from "../collector/query/query-params.js";
import { escapeForTerminal, jsonForTerminal } from "../render/terminal-text.js";
import { rate, sparkline, textTable } from "../render/text-table.js";
import { getJson, SERVER_HELP, serverUrl } from "./collector-client.js";
import { schemaDefault } from "./flag-table.js";
import { UsageError } from "./usage-error.js";

type PodDetail = ReturnType<typeof podDetail>;

/** The pod as text; every line of ours is escaped whole (tables escape their cells). */
export function podText(p: PodDetail, windowText: string): string {
  const c = p.counters;
  const s = p.series;
  const lines = [
    `Pod:          ${p.namespace}/${p.name}${p.workload ? `  (${p.workload})` : ""}  on ${p.node}${p.hostNetwork ? "  hostNetwork" : ""}`,
    `Window:       ${windowText} (observed ${p.coveredSeconds.toFixed(0)} s, ${s.length} points)`,
    `Churn:        ${rate(p.churnPerSecond)}/s   ${sparkline(s.map((x) => x.churnPerSecond))}`,
    `Transitions:  opens ${opens(c)} (active ${c.active_opens}, passive ${c.passive_opens})  closes ${c.closes}  failed ${c.failed_connects}  resets ${c.resets}  time_wait_entries ${c.time_wait_entries}`,
  ].map(escapeForTerminal);
  if (p.sockets) {
    for (const state of ["ESTABLISHED", "TIME_WAIT", "SYN_RECV", "CLOSE_WAIT"] as const) {
      const est = p.estimated.includes(state) ? " (estimated)" : "";
      const line = sparkline(s.map((x) => (x.sockets ? x.sockets[state] : null)));
      lines.push(
        escapeForTerminal(`${`${state}:`.padEnd(14)}${String(p.sockets[state]).padStart(6)}${est}   ${line}`),
      );
    }
  } else lines.push("Sockets:      not readable on the node (no process in the pod's netns)");
  lines.push("", "Listeners:");
  lines.push(
    p.listeners.length
      ? textTable(
          ["ADDRESS", "PORT", "SYN-Q", "ACCEPT-Q", "BACKLOG"],
          p.listeners.map((l) => [
            l.address,
            String(l.port),
            String(l.synQueue),
            String(l.acceptQueue),
            String(l.backlog),
          ]),
          new Set([1, 2, 3, 4]),
        )
      : "  none",
  );
  lines.push("", "Top destinations:");
  const dest = [
    ...p.topDestinations.connects.map((d) => [d.endpoint, d.peer ?? "", `${d.count} connects`]),
    ...p.topDestinations.timeWait.map((d) => [d.endpoint, d.peer ?? "", `${d.count} TIME_WAIT`]),
  ];
  lines.push(dest.length ? textTable(["DESTINATION", "PEER", "COUNT"], dest) : "  none");
  return lines.join("\n");
}

/** The history the API shows when not asked. */
const WINDOW = schemaDefault(PodDetailQuerySchema.shape.window);

export function podCommand(): Command {
  return new Command("pod")
    .description("Show one pod: churn and socket states over time (sparklines), listeners, top destinations")
    .argument("<namespace/name>", "the pod")
    .option("--window <duration>", "history shown (e.g. 15m, 1h)", WINDOW)
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .option("--server <url>", SERVER_HELP)
    .action(async (id: string, opts) => {
      const m = /^([^/]+)\/([^/]+)$/.exec(id);
      if (!m) throw new UsageError(`expected NAMESPACE/NAME, got "${id}"`);
      const server = serverUrl(opts.server);
      const path = `/api/v1/pods/${encodeURIComponent(m[1] as string)}/${encodeURIComponent(m[2] as string)}`;
      const body = await getJson<PodDetail>(server, `${path}?window=${encodeURIComponent(opts.window)}`);
      process.stdout.write(
        `${opts.output === "json" ? jsonForTerminal(body, 2) : podText(body, opts.window)}\n`,
      );
    });
}
