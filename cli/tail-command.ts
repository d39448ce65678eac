import { Command, Option } from "commander";
import { formatEndpoint } from "../agent/wire/endpoint.js";
import { TRANSITION_STATES } from "../agent/wire/events.js";
import type { EnrichedEvent } from "../collector/live/event-tap.js";
import { escapeForTerminal, jsonForTerminal } from "../render/terminal-text.js";
import { SERVER_HELP, ServerError, serverUrl, streamLines } from "./collector-client.js";
import { UsageError } from "./usage-error.js";

/** One transition as one line, escaped for the terminal (names and peers come from the cluster and DNS). */
export function eventLine(e: EnrichedEvent): string {
  const at = new Date(e.time);
  const time = Number.isNaN(at.getTime()) ? "--:--:--.---" : at.toISOString().slice(11, 23);
  const who = e.namespace ? `${e.namespace}/${e.pod}` : `${e.pod}@${e.node}`;
  const peer = e.peer ? ` (${e.peer})` : "";
  return escapeForTerminal(
    `${time}  ${who}  ${e.from} -> ${e.to}  ${formatEndpoint(e.saddr, e.sport)} -> ${formatEndpoint(e.daddr, e.dport)}${peer}`,
  );
}

export function tailCommand(): Command {
  return new Command("tail")
    .description("Stream live TCP transitions with pod names (agents stream only while a tail runs)")
    .option("-n, --namespace <namespace>", "only this namespace")
    .option("--pod <name>", "only this pod")
    .option("--node <node>", "only this node")
    .option(
      "--state <states...>",
      `only transitions from or to these states (${TRANSITION_STATES.join(", ")}); ` +
        "a socket entering TIME_WAIT shows as FIN_WAIT2 -> TIME_WAIT (CLOSING -> TIME_WAIT after a simultaneous close); " +
        "CLOSE: sockets closing (-> CLOSE) and starting (CLOSE -> SYN_SENT, CLOSE -> LISTEN)",
    )
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .option("--server <url>", SERVER_HELP)
    .action(async (opts) => {
      const server = serverUrl(opts.server);
      const q = new URLSearchParams();
      for (const key of ["namespace", "pod", "node"] as const) if (opts[key]) q.set(key, opts[key]);
      if (opts.state) {
        const states = (opts.state as string[])
          .flatMap((s) => s.split(","))
          .map((s) => s.trim().toUpperCase());
        const bad = states.find((s) => !(TRANSITION_STATES as readonly string[]).includes(s));
        if (bad) throw new UsageError(`invalid --state "${bad}": accepted ${TRANSITION_STATES.join(", ")}`);
        q.set("state", states.join(","));
      }
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      for await (const line of streamLines(server, `/api/v1/events?${q}`, abort.signal)) {
        let event: EnrichedEvent | { dropped: number };
        try {
          event = JSON.parse(line) as EnrichedEvent | { dropped: number };
        } catch {
          throw new ServerError(
            `the live stream from ${server} sent a line that is not JSON: ${line.slice(0, 200)}`,
          );
        }
        // The collector dropped events this client read too slowly to take: said, in JSON as the stream says it.
        if ("dropped" in event && opts.output !== "json") {
          process.stderr.write(
            `tcpstate: ${Number(event.dropped)} events dropped: this output was read too slowly\n`,
          );
          continue;
        }
        if ("dropped" in event) {
          process.stdout.write(`${jsonForTerminal(event)}\n`);
          continue;
        }
        // Written anew, not passed through: the line as received could carry raw terminal controls.
        process.stdout.write(`${opts.output === "json" ? jsonForTerminal(event) : eventLine(event)}\n`);
      }
    });
}
