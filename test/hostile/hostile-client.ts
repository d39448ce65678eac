/** What the hostile tests send and measure: raw HTTP over a socket, clients that never read, a process's RSS. */
import net from "node:net";
import { rssOf } from "../support/health-watch.js";

export interface RawAnswer {
  /** The status code, or null when the server closed without answering. */
  status: number | null;
  headers: Record<string, string>;
  body: string;
}

/** Sends `head` (a request line and headers, as written: nothing is escaped or checked) and reads to the end. */
export function rawRequest(port: number, head: string, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(head));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer to ${JSON.stringify(head.slice(0, 80))} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => undefined); // a reset after the answer: what was read is the answer
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const lines = (end < 0 ? text : text.slice(0, end)).split("\r\n");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = end < 0 ? "" : text.slice(end + 4);
      if (headers["transfer-encoding"] === "chunked") body = unchunk(body);
      resolve({ status: m ? Number(m[1]) : null, headers, body });
    });
  });
}

/** The data of a chunked body, up to its first incomplete chunk. */
export function unchunk(text: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const nl = text.indexOf("\r\n", at);
    if (nl < 0) return out;
    const size = Number.parseInt(text.slice(at, nl), 16);
    if (!(size > 0)) return out;
    out += text.slice(nl + 2, nl + 2 + size);
    at = nl + 2 + size + 2;
  }
}

/** `GET target` (or `method`) with Host 127.0.0.1 and Connection: close, plus `extra` header lines. */
export function request(
  target: string,
  opts: { method?: string; host?: string; extra?: string[] } = {},
): string {
  const lines = [`${opts.method ?? "GET"} ${target} HTTP/1.1`, `Host: ${opts.host ?? "127.0.0.1"}`];
  return `${[...lines, ...(opts.extra ?? []), "Connection: close"].join("\r\n")}\r\n\r\n`;
}

/** GET `path` as a client that sends its request and then never reads (socket.pause()). */
export function nonReadingClient(port: number, path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      socket.pause();
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** The largest RSS of `pid` seen every 200 ms until `until` settles. */
export async function peakRss(pid: number, until: Promise<unknown>): Promise<number> {
  let peak = await rssOf(pid);
  let done = false;
  const watching = until.finally(() => {
    done = true;
  });
  while (!done) {
    peak = Math.max(peak, await rssOf(pid));
    await Promise.race([watching, new Promise((r) => setTimeout(r, 200))]);
  }
  await watching;
  return Math.max(peak, await rssOf(pid));
}

/** The value of the series `name{labels}` in a Prometheus text exposition (0 when absent). */
export function metricValue(text: string, series: string): number {
  for (const line of text.split("\n"))
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return 0;
}

/** GET /healthz, given at most `ms`: the status, or the error (a dead or stalled process). */
export async function healthz(port: number, ms = 1000): Promise<number | string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(ms) });
    await res.text();
    return res.status;
  } catch (err) {
    return (err as Error).message;
  }
}

export const MiB = 1024 * 1024;

/** The service's /metrics text. */
export async function metricsText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** How often requests were refused for `reason`, as the service counts them. */
export async function refusedCount(port: number, reason: string): Promise<number> {
  return metricValue(await metricsText(port), `tcpstate_http_requests_refused_total{reason="${reason}"}`);
}
