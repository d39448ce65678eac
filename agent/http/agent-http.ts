import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { type Readiness, type ServiceHttp, sendJson, startServiceHttp } from "../../common/service-http.js";
import type { HTTP_EVENTS_MODES } from "../config.js";
import type { TransitionEvent } from "../wire/events.js";

export interface AgentHttpOptions {
  host: string;
  port: number;
  registry: Registry;
  logger: Logger;
  readiness(): Readiness;
  /** Live transitions (the per-event stream); returns the unsubscribe function. */
  subscribeEvents(fn: (event: TransitionEvent) => void): () => Promise<void>;
  /** --http-events, and whether the agent publishes to NATS (--nats-url). */
  httpEvents: (typeof HTTP_EVENTS_MODES)[number];
  nats: boolean;
}

/** Why /events is not served, or null when it is. */
export function httpEventsOff(mode: AgentHttpOptions["httpEvents"], nats: boolean): string | null {
  if (mode === "on" || (mode === "auto" && !nats)) return null;
  return mode === "off"
    ? "/events is off (--http-events off)"
    : "/events is off: this agent publishes live events to NATS (--nats-url); use `tcpstate tail` through the collector, or start the agent with --http-events on";
}

/** /metrics, /healthz, /readyz and /events (NDJSON of live transitions while the client stays connected). */
export function startAgentHttp(opts: AgentHttpOptions): Promise<ServiceHttp> {
  const off = httpEventsOff(opts.httpEvents, opts.nats);
  // Every client is handed the same event object: it is serialized once, not once per client.
  let last: TransitionEvent | undefined;
  let lastLine = "";
  const lineOf = (event: TransitionEvent) => {
    if (event !== last) {
      last = event;
      lastLine = `${JSON.stringify(event)}\n`;
    }
    return lastLine;
  };
  return startServiceHttp({
    ...opts,
    // Against DNS rebinding (a standalone agent on a laptop, a node IP): local, IP and cluster names only.
    allowedHosts: [],
    routes: {
      "/events": (_url, res, { streams }) => {
        if (off) return sendJson(res, 404, { error: off });
        const stream = streams.open(res);
        if (!stream) return;
        const unsubscribe = opts.subscribeEvents((event) => stream.writeLine(lineOf(event)));
        stream.whenClosed(() => void unsubscribe());
      },
    },
  });
}
