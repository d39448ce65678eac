/**
 * The first NATS connection of agent and collector (common/nats-connect.ts) against a real nats-server: retried
 * until it answers, each failure said (warn while NATS may be starting, error past that), given up on abort.
 */
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectUntilUp, NATS_START_GRACE_MS } from "../../common/nats-connect.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";

interface LogLine {
  level: number;
  msg: string;
  err?: string;
  retryInMs?: number;
  waitedMs?: number;
}
const PINO_WARN = 40;
const PINO_ERROR = 50;

/** A logger whose lines land in `lines`; `onLine` runs after each. */
function capture(onLine: (line: LogLine) => void = () => {}) {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: "info" },
    {
      write(text: string) {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        onLine(line);
      },
    },
  );
  return { lines, logger };
}

describe("connectUntilUp (real nats-server)", () => {
  let server: NatsServer;

  beforeAll(async () => {
    server = await startNatsServer();
    await server.stop(); // its port is known, nothing listens on it yet
  });
  afterAll(() => server?.destroy());

  it("retries a refused connection, saying why at warn level, and connects once NATS is up", async () => {
    const { lines, logger } = capture((line) => {
      // NATS comes up after the first refusal, as when it starts beside the service.
      if (line.level === PINO_WARN && lines.filter((l) => l.level === PINO_WARN).length === 1)
        void server.start();
    });
    const nc = await connectUntilUp({
      options: { servers: [server.url] },
      logger,
      signal: new AbortController().signal,
      retryMs: 100,
    });
    expect(nc?.isClosed()).toBe(false);
    await nc?.close();
    const failures = lines.filter((l) => l.err !== undefined);
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      expect(f).toMatchObject({
        level: PINO_WARN,
        msg: "NATS not reachable yet (it may be starting); retrying",
      });
      expect(f.retryInMs).toBe(100);
    }
    await server.stop();
  }, 30_000);

  it("says it at error level once NATS has been away longer than a start takes", async () => {
    let now = 0;
    const abort = new AbortController();
    const { lines, logger } = capture((line) => {
      if (line.err === undefined) return;
      if (now === 0)
        now = NATS_START_GRACE_MS; // the next attempt comes past the grace
      else abort.abort();
    });
    const nc = await connectUntilUp({
      options: { servers: [server.url] },
      logger,
      signal: abort.signal,
      retryMs: 10,
      clock: () => now,
    });
    expect(nc).toBeUndefined();
    expect(lines.filter((l) => l.err !== undefined).map((l) => [l.level, l.waitedMs])).toEqual([
      [PINO_WARN, 0],
      [PINO_ERROR, NATS_START_GRACE_MS],
    ]);
  });

  it("gives up on abort: resolves undefined and tries no more", async () => {
    const abort = new AbortController();
    let attempts = 0;
    const { logger } = capture((line) => {
      if (line.err === undefined) return;
      attempts++;
      abort.abort();
    });
    const started = Date.now();
    const nc = await connectUntilUp({
      options: { servers: [server.url] },
      logger,
      signal: abort.signal,
      // A wait far longer than the test: only the abort can end it.
      retryMs: 600_000,
    });
    expect(nc).toBeUndefined();
    expect(attempts).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
