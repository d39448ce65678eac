import type { AlertView } from "../collector/alerts/alert-event.js";
import type { listPods } from "../collector/query/pod-query.js";
import { topTable } from "../render/pod-table.js";
import { escapeForTerminal } from "../render/terminal-text.js";

export interface LiveTable {
  stop(): void;
}

/** What the terminal shows of alerts: one escaped line each (pod names, summaries), the newest state. */
function alertLines(alerts: readonly AlertView[]): string[] {
  if (alerts.length === 0) return ["No alert firing."];
  return alerts.map((a) =>
    escapeForTerminal(
      `FIRING ${a.labels.alertname} ${a.labels.namespace}/${a.labels.pod}${a.labels.port ? `:${a.labels.port}` : ""} — ${a.annotations.summary ?? ""}`,
    ),
  );
}

/**
 * The live `top` of `tcpstate local`: redrawn in place every window (cursor home, clear), the URL on top and
 * the firing alerts below.
 */
export function startLiveTable(
  out: NodeJS.WriteStream,
  url: string,
  intervalMs: number,
  read: () => { pods: ReturnType<typeof listPods>; alerts: AlertView[] },
): LiveTable {
  const draw = () => {
    const { pods, alerts } = read();
    const lines = [
      escapeForTerminal(`tcpstate local — ${url} — busiest pods over the last minute (Ctrl-C to stop)`),
      "",
      topTable(pods, false, 'the dashboard\'s "show idle" lists them'),
      "",
      ...alertLines(alerts),
    ];
    out.write(`\x1b[H\x1b[2J${lines.join("\n")}\n`);
  };
  draw();
  const timer = setInterval(draw, intervalMs);
  return { stop: () => clearInterval(timer) };
}
