/** `tcpstate alerts`: the alerts pending or firing now, from the collector's GET /api/v1/alerts. */
import { Command, Option } from "commander";
import type { AlertView } from "../collector/alerts/alert-event.js";
import { jsonForTerminal } from "../render/terminal-text.js";
import { textTable } from "../render/text-table.js";
import { getJson, SERVER_HELP, serverUrl } from "./collector-client.js";

const HEADERS = [
  "STATE",
  "ALERT",
  "SEVERITY",
  "NAMESPACE",
  "POD",
  "NODE",
  "PORT/DEST",
  "VALUE",
  "SINCE",
  "SUMMARY",
];

function since(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

/** The alerts as a text table (one line each), newest first as the API lists them. */
export function alertsTable(alerts: readonly AlertView[], now = Date.now()): string {
  const rows = alerts.map((a) => [
    a.state,
    a.labels.alertname ?? "",
    a.labels.severity ?? "",
    a.labels.namespace || "-",
    a.labels.pod ?? "",
    a.labels.node ?? "",
    a.labels.port || a.labels.destination || "-",
    Number.isInteger(a.value) ? String(a.value) : a.value.toFixed(1),
    since(a.firedAt ?? a.activeAt, now),
    // The summary without its "<alert> on <pod>: " prefix, already in the columns.
    (a.annotations.summary ?? "").replace(/^\S+ on \S+: /, ""),
  ]);
  return textTable(HEADERS, rows, new Set([7]));
}

export function alertsCommand(): Command {
  return new Command("alerts")
    .description("List the alerts pending or firing now (from the collector)")
    .option("--server <url>", SERVER_HELP)
    .addOption(
      new Option("-o, --output <format>", "table or json").choices(["table", "json"]).default("table"),
    )
    .addOption(
      new Option("--state <state>", "which alerts").choices(["firing", "pending", "all"]).default("all"),
    )
    .addHelpText("after", "\nExit codes: 0 listed, 1 the collector failed or could not be reached, 2 usage.")
    .action(async (opts: { server?: string; output: "table" | "json"; state: string }) => {
      const server = serverUrl(opts.server);
      const body = await getJson<{ alerts: AlertView[] }>(server, `/api/v1/alerts?state=${opts.state}`);
      if (opts.output === "json") process.stdout.write(`${jsonForTerminal(body.alerts, 2)}\n`);
      else if (body.alerts.length === 0)
        process.stdout.write(`No ${opts.state === "all" ? "pending or firing" : opts.state} alerts.\n`);
      else process.stdout.write(`${alertsTable(body.alerts)}\n`);
    });
}
