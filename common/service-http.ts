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

/** What a route throws for a request it refuses as asked: 400, naming the parameter. */
export class BadRequestError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ServiceHttpOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Series written after the registry's, a chunk at a time (too many for a registry: the collector's pods). */
  moreMetrics?: () => AsyncIterable<string>;
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

/** Resolves once `res` can take more (or is gone: a scrape whose client left stops writing). */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

async function serveMetrics(opts: ServiceHttpOptions, res: http.ServerResponse): Promise<void> {
  try {
    const text = await opts.registry.metrics();
    res.writeHead(200, { "content-type": opts.registry.contentType });
    res.write(text);
    if (opts.moreMetrics)
      for await (const chunk of opts.moreMetrics()) {
        if (res.destroyed) return;
        if (!res.write(chunk)) await drained(res);
      }
    res.end();
  } catch (err) {
    opts.logger.error({ err: (err as Error).message }, "/metrics failed");
    if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
    else res.destroy();
  }
}

export async function startServiceHttp(opts: ServiceHttpOptions): Promise<ServiceHttp> {
  const paths = ["/metrics", "/healthz", "/readyz", ...Object.keys(opts.routes)];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://tcpstate");
    if (req.method !== "GET") return sendJson(res, 405, { error: `method ${req.method} not allowed` });
    switch (url.pathname) {
      case "/metrics":
        void serveMetrics(opts, res);
        return;
      case "/healthz":
        return sendJson(res, 200, { status: "ok" });
      case "/readyz": {
        const r = opts.readiness();
        return sendJson(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", ...r });
      }
      default: {
        const route = opts.routes[url.pathname] ?? prefixRoute(opts.routes, url.pathname);
        if (!route) return sendJson(res, 404, { error: `no route ${url.pathname}; try ${paths.join(", ")}` });
        try {
          return route(url, res);
        } catch (err) {
          // Anything but a bad request is the server's fault: said, answered 500, and the service goes on.
          if (err instanceof BadRequestError)
            return sendJson(res, 400, { error: err.message, parameter: err.parameter });
          opts.logger.error({ err: (err as Error).message, path: url.pathname }, "request failed");
          return sendJson(res, 500, { error: (err as Error).message });
        }
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
