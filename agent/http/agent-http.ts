import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { type Readiness, type ServiceHttp, startServiceHttp } from "../../common/service-http.js";
import type { TransitionEvent } from "../wire/events.js";

export interface AgentHttpOptions {
  host: string;
  port: number;
  registry: Registry;
  logger: Logger;
  readiness(): Readiness;
  /** Live transitions (the per-event stream); returns the unsubscribe function. */
  subscribeEvents(fn: (event: TransitionEvent) => void): () => Promise<void>;
}

/** /metrics, /healthz, /readyz and /events (NDJSON of live transitions while the client stays connected). */
export function startAgentHttp(opts: AgentHttpOptions): Promise<ServiceHttp> {
  return startServiceHttp({
    ...opts,
    routes: {
      "/events": (_url, res) => {
        res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
        res.flushHeaders();
        const unsubscribe = opts.subscribeEvents((event) => res.write(`${JSON.stringify(event)}\n`));
        res.on("close", () => void unsubscribe());
      },
    },
  });
}
