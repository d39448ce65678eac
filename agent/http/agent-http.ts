import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { TransitionEvent } from "../wire/events.js";

export interface Readiness {
  ready: boolean;
  /** What is not ready yet, for the /readyz body. */
  waitingFor: string[];
  details: Record<string, unknown>;
}

export interface AgentHttpOptions {
  host: string;
  port: number;
  registry: Registry;
  logger: Logger;
  readiness(): Readiness;
  /** Live transitions (the per-event stream); returns the unsubscribe function. */
  subscribeEvents(fn: (event: TransitionEvent) => void): () => Promise<void>;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
}

/** /metrics, /healthz, /readyz and /events (NDJSON of live transitions while the client stays connected). */
export async function startAgentHttp(
  opts: AgentHttpOptions,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://agent");
    if (req.method !== "GET") return json(res, 405, { error: `method ${req.method} not allowed` });
    switch (url.pathname) {
      case "/metrics":
        opts.registry
          .metrics()
          .then((text) => {
            res.writeHead(200, { "content-type": opts.registry.contentType });
            res.end(text);
          })
          .catch((err: Error) => json(res, 500, { error: err.message }));
        return;
      case "/healthz":
        return json(res, 200, { status: "ok" });
      case "/readyz": {
        const r = opts.readiness();
        return json(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", ...r });
      }
      case "/events": {
        res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
        res.flushHeaders();
        const unsubscribe = opts.subscribeEvents((event) => res.write(`${JSON.stringify(event)}\n`));
        res.on("close", () => void unsubscribe());
        return;
      }
      default:
        return json(res, 404, {
          error: `no route ${url.pathname}; try /metrics, /healthz, /readyz or /events`,
        });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host || undefined, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  opts.logger.info({ host: opts.host || "*", port }, "serving /metrics, /healthz, /readyz, /events");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
