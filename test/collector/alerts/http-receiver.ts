/** A real HTTP or HTTPS receiver on 127.0.0.1 (port 0) that records what each request brought. */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The CN of the client certificate, when the client presented one. */
  clientCertCn: string | undefined;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>` or `https://…`, no trailing slash. */
  origin: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

export type Respond = (req: ReceivedRequest, res: http.ServerResponse) => void;

/** Answers 204 unless `respond` says otherwise; with `tls`, HTTPS with those server options. */
export async function startReceiver(
  opts: { tls?: https.ServerOptions; respond?: Respond } = {},
): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const socket = req.socket as Partial<TLSSocket>;
      const cn = socket.getPeerCertificate?.()?.subject?.CN;
      const r: ReceivedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        clientCertCn: typeof cn === "string" ? cn : undefined,
      };
      received.push(r);
      if (opts.respond) opts.respond(r, res);
      else res.writeHead(204).end();
    });
  };
  const server = opts.tls ? https.createServer(opts.tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
