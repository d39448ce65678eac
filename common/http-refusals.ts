/**
 * What a service's HTTP side refuses and drops, by stable reason: one table of reasons and statuses, the
 * metrics that count them (in the service's own registry), and a log line the first time each reason occurs.
 */
import { type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";

/** Every reason a request is refused, and the status it is answered with (0: the connection is just closed). */
export const REFUSALS = {
  method: 405,
  target_form: 400,
  target_too_long: 414,
  target_characters: 400,
  bad_escape: 400,
  dot_segment: 400,
  reserved_parameter: 400,
  bad_parameter: 400,
  host: 400,
  malformed_request: 400,
  headers_too_large: 431,
  request_timeout: 408,
  too_many_connections: 0,
  too_many_streams: 503,
} as const;
export type RefusalReason = keyof typeof REFUSALS;

/** Why live events did not reach a stream client (one reason so far: its queue was full). */
export type StreamDropReason = "client_behind";

export class HttpRefusals {
  private readonly refused: Counter<"reason">;
  /** Counted per event on the hot path, so kept as plain numbers and read at scrape time. */
  private readonly droppedByReason: Record<StreamDropReason, number> = { client_behind: 0 };
  private readonly disconnected: Counter<"reason">;
  private readonly logged = new Set<string>();
  /** Stream clients now connected (read by the gauge at scrape time). */
  streamClients = 0;

  constructor(
    registry: Registry,
    private readonly logger: Logger,
  ) {
    const registers = [registry];
    this.refused = new Counter({
      name: "tcpstate_http_requests_refused_total",
      help: "HTTP requests refused before any route ran, or by a route for a bad parameter, by reason",
      labelNames: ["reason"] as const,
      registers,
    });
    const dropped = this.droppedByReason;
    new Counter({
      name: "tcpstate_http_stream_events_dropped_total",
      help: "Live events not sent to a stream client, by reason (client_behind: its queue was full)",
      labelNames: ["reason"] as const,
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(dropped)) this.inc({ reason }, n);
      },
    });
    this.disconnected = new Counter({
      name: "tcpstate_http_stream_clients_disconnected_total",
      help: "Stream clients the service disconnected, by reason (stuck: read nothing for too long)",
      labelNames: ["reason"] as const,
      registers,
    });
    const self = this;
    new Gauge({
      name: "tcpstate_http_stream_clients",
      help: "Clients connected to a live event stream",
      registers,
      collect() {
        this.set(self.streamClients);
      },
    });
  }

  /** Counts `reason` and logs its first occurrence (a hostile client must not flood the log). */
  count(reason: RefusalReason, detail: string): void {
    this.refused.inc({ reason });
    this.once(
      `refused:${reason}`,
      { reason, detail },
      "HTTP request refused (counted by reason, logged once)",
    );
  }

  /** Counts and answers a refusal with its status and a JSON error; the connection closes after it. */
  refuse(
    res: ServerResponse,
    reason: RefusalReason,
    message: string,
    extra: Record<string, unknown> = {},
  ): void {
    this.count(reason, message);
    if (res.headersSent) return void res.destroy();
    res.writeHead(REFUSALS[reason] || 400, { "content-type": "application/json", connection: "close" });
    res.end(`${JSON.stringify({ error: message, reason, ...extra })}\n`);
  }

  /**
   * Counts and answers a refusal on a bare socket (before Node made a request of it: a malformed head, a
   * CONNECT), then closes it.
   */
  refuseSocket(socket: Duplex, reason: RefusalReason, message: string): void {
    this.count(reason, message);
    const status = REFUSALS[reason] || 400;
    const body = `${JSON.stringify({ error: message, reason })}\n`;
    // Closed once written, without waiting for the client to close its side (it may never).
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\nx-content-type-options: nosniff\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  }

  droppedEvent(reason: StreamDropReason): void {
    this.droppedByReason[reason]++;
    if (this.droppedByReason[reason] === 1)
      this.once(
        `dropped:${reason}`,
        { reason },
        "live events dropped for a slow stream client (counted, logged once)",
      );
  }

  disconnectedStream(reason: "stuck"): void {
    this.disconnected.inc({ reason });
    this.once(`disconnected:${reason}`, { reason }, "stream client disconnected (counted, logged once)");
  }

  private once(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.logger.warn(fields, msg);
  }
}
