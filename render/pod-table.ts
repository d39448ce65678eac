/** The pod table `tcpstate top` prints and `tcpstate local` redraws: one row per pod, kubectl-style. */
import { opens } from "../collector/model/churn.js";
import type { listPods } from "../collector/query/pod-query.js";
import type { PodSummary } from "../collector/query/pod-views.js";
import { escapeForTerminal } from "./terminal-text.js";
import { rate, textTable } from "./text-table.js";

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
