/** The HTTP side every tcpstate service has: /metrics, /healthz, /readyz, plus its own GET routes. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

export interface Readiness {
  ready: boolean;
  /** What is not ready yet, for the /readyz body. */
  waitingFor: string[];
  details?: Record<string, unknown>;
}

/** A route handler: true when it answered the request. */
export type Route = (url: URL, res: http.ServerResponse) => boolean;

export interface ServiceHttpOptions {
  host: string;
  port: number;
  registry: Registry;
  logger: Logger;
  readiness(): Readiness;
  /**
   * The service's own GET paths, tried after the common ones; listed in the 404 message. A path ending in "/*"
   * answers every path under it (the longest such prefix wins).
   */
  routes: Record<string, (url: URL, res: http.ServerResponse) => void>;
}

export interface ServiceHttp {
  port: number;
  close(): Promise<void>;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
}

function prefixRoute(routes: ServiceHttpOptions["routes"], pathname: string) {
  let best: string | undefined;
  for (const key of Object.keys(routes))
    if (key.endsWith("/*") && pathname.startsWith(key.slice(0, -1)) && (!best || key.length > best.length))
      best = key;
  return best === undefined ? undefined : routes[best];
}

export async function startServiceHttp(opts: ServiceHttpOptions): Promise<ServiceHttp> {
  const paths = ["/metrics", "/healthz", "/readyz", ...Object.keys(opts.routes)];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://tcpstate");
    if (req.method !== "GET") return sendJson(res, 405, { error: `method ${req.method} not allowed` });
    switch (url.pathname) {
      case "/metrics":
        opts.registry
          .metrics()
          .then((text) => {
            res.writeHead(200, { "content-type": opts.registry.contentType });
            res.end(text);
          })
          .catch((err: Error) => sendJson(res, 500, { error: err.message }));
        return;
      case "/healthz":
        return sendJson(res, 200, { status: "ok" });
      case "/readyz": {
        const r = opts.readiness();
        return sendJson(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", ...r });
      }
      default: {
        const route = opts.routes[url.pathname] ?? prefixRoute(opts.routes, url.pathname);
        if (route) return route(url, res);
        return sendJson(res, 404, { error: `no route ${url.pathname}; try ${paths.join(", ")}` });
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host || undefined, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  opts.logger.info({ host: opts.host || "*", port }, `serving ${paths.join(", ")}`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
