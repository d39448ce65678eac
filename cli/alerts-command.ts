/** `tcpstate alerts`: the alerts pending or firing now, from the collector's GET /api/v1/alerts. */
import { Command, Option } from "commander";
import type { AlertView } from "../collector/alerts/alert-event.js";
import { UsageError } from "./usage-error.js";

const DEFAULT_SERVER = "http://127.0.0.1:8080";

function since(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

/** The alerts as an aligned text table (one line each), newest first as the API lists them. */
export function alertsTable(alerts: readonly AlertView[], now = Date.now()): string {
  const header = [
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
    (a.annotations.summary ?? "").replace(/^\S+ on \S+: /, ""),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export function alertsCommand(): Command {
  return new Command("alerts")
    .description("List the alerts pending or firing now (from the collector)")
    .addOption(new Option("--server <url>", "collector URL").env("TCPSTATE_SERVER").default(DEFAULT_SERVER))
    .addOption(
      new Option("-o, --output <format>", "table or json").choices(["table", "json"]).default("table"),
    )
    .addOption(
      new Option("--state <state>", "which alerts").choices(["firing", "pending", "all"]).default("all"),
    )
    .addHelpText("after", "\nExit codes: 0 listed, 1 the collector failed or could not be reached, 2 usage.")
    .action(async (opts: { server: string; output: "table" | "json"; state: string }) => {
      let url: URL;
      try {
        url = new URL("/api/v1/alerts", opts.server);
      } catch {
        throw new UsageError(`invalid --server "${opts.server}": expected a URL like ${DEFAULT_SERVER}`);
      }
      url.searchParams.set("state", opts.state);
      let body: { alerts: AlertView[] };
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
        const text = await res.text();
        if (!res.ok) throw new Error(`${url.origin} answered ${res.status}: ${text.trim().slice(0, 300)}`);
        body = JSON.parse(text) as { alerts: AlertView[] };
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const why = cause?.code ?? cause?.message;
        process.stderr.write(
          `tcpstate: cannot list alerts from ${opts.server}: ${(err as Error).message}${why ? ` (${why})` : ""}; is the collector running and reachable?\n`,
        );
        process.exitCode = 1;
        return;
      }
      if (opts.output === "json") process.stdout.write(`${JSON.stringify(body.alerts, null, 2)}\n`);
      else if (body.alerts.length === 0)
        process.stdout.write(`no ${opts.state === "all" ? "" : `${opts.state} `}alerts\n`);
      else process.stdout.write(`${alertsTable(body.alerts)}\n`);
    });
}
