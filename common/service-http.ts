/** The HTTP side every tcpstate service has: /metrics, /healthz, /readyz, plus its own GET routes. */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { hostAllowed } from "./host-header.js";
import { HttpRefusals } from "./http-refusals.js";
import { DEFAULT_STREAM_LIMITS, type NdjsonStreamLimits, NdjsonStreams } from "./ndjson-stream.js";
import { parseRequestTarget, targetUrl } from "./request-target.js";

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

/** What the service gives a route besides the request's URL and the response. */
export interface RouteContext {
  /** Live NDJSON streams, bounded per client and capped per service. */
  streams: NdjsonStreams;
}

export type Route = (url: URL, res: http.ServerResponse, ctx: RouteContext) => void;

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
  routes: Record<string, Route>;
  /**
   * When set, a request whose Host is a name is answered only if it is local, cluster-internal or listed here
   * (DNS rebinding: see host-header.ts); unset, any Host is answered.
   */
  allowedHosts?: readonly string[];
  streamLimits?: Partial<NdjsonStreamLimits>;
}

export interface ServiceHttp {
  port: number;
  close(): Promise<void>;
}

/** Connections open at once; past it a new one is closed at once (counted). */
const MAX_CONNECTIONS = 256;
/**
 * A client has 10 s to send its request head and 15 s for the whole request; an idle kept-alive connection
 * closes after 5 s. Checked every second (Node's default, 30 s, would let a silent client hold a socket 30 s).
 */
const SERVER_TIMEOUTS = {
  headersTimeout: 10_000,
  requestTimeout: 15_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
} as const;

/**
 * On every response. The dashboard loads only its own scripts, styles and API (and a `data:` favicon); nothing
 * may frame it (clickjacking), sniff a JSON answer into HTML, or learn its URL from a referrer.
 */
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
} as const;

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
  const refusals = new HttpRefusals(opts.registry, opts.logger);
  const ctx: RouteContext = {
    streams: new NdjsonStreams({ ...DEFAULT_STREAM_LIMITS, ...opts.streamLimits }, refusals),
  };

  const dispatch = (req: http.IncomingMessage, res: http.ServerResponse) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (req.method !== "GET") {
      res.setHeader("allow", "GET");
      return refusals.refuse(res, "method", `method ${req.method} not allowed`);
    }
    const target = parseRequestTarget(req.url);
    if (!target.ok)
      return refusals.refuse(
        res,
        target.reason,
        target.message,
        target.parameter === undefined ? {} : { parameter: target.parameter },
      );
    const host = req.headers.host;
    if (opts.allowedHosts && !hostAllowed(host, opts.allowedHosts))
      return refusals.refuse(
        res,
        "host",
        `Host ${JSON.stringify(host)} is not served: use an IP address, localhost or a cluster DNS name (the collector also answers names listed with --allowed-hosts)`,
      );
    const url = targetUrl(target);
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
        const route = Object.hasOwn(opts.routes, url.pathname)
          ? opts.routes[url.pathname]
          : prefixRoute(opts.routes, url.pathname);
        if (!route) return sendJson(res, 404, { error: `no route ${url.pathname}; try ${paths.join(", ")}` });
        try {
          return route(url, res, ctx);
        } catch (err) {
          if (!(err instanceof BadRequestError)) throw err;
          return refusals.refuse(res, "bad_parameter", err.message, { parameter: err.parameter });
        }
      }
    }
  };

  const server = http.createServer(SERVER_TIMEOUTS, (req, res) => {
    try {
      dispatch(req, res);
    } catch (err) {
      // Anything but a refusal is the server's fault: said, answered 500, and the service goes on.
      opts.logger.error({ err: (err as Error).message, path: req.url?.slice(0, 200) }, "request failed");
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.destroy();
    }
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.on("drop", () => refusals.count("too_many_connections", `more than ${MAX_CONNECTIONS} connections`));
  // What Node's parser refuses (malformed, head over maxHeaderSize, too slow) never reaches a route: counted and
  // answered here as Node would, but only on a connection that has not been answered anything yet.
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (err.code === "ECONNRESET") return void socket.destroy();
    const reason =
      err.code === "HPE_HEADER_OVERFLOW"
        ? "headers_too_large"
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? "request_timeout"
          : "malformed_request";
    if (socket.writable && (socket as Socket).bytesWritten === 0)
      return refusals.refuseSocket(socket, reason, `${err.code ?? "error"}: ${err.message}`);
    refusals.count(reason, `${err.code ?? "error"}: ${err.message}`);
    socket.destroy();
  });
  // CONNECT never reaches the request handler: answered like any other method but GET.
  server.on("connect", (_req, socket: Duplex) =>
    refusals.refuseSocket(socket, "method", "method CONNECT not allowed"),
  );
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
