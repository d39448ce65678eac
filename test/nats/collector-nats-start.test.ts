/**
 * A collector started before its NATS (a Helm install starts both at once): the refused connections of the
 * start are expected, said at warn level with the retry delay, not as errors; it connects once NATS is up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";

const PINO_ERROR = 50;

describe("collector started before NATS (real nats-server)", () => {
  let server: NatsServer;
  let collector: CollectorProcess;

  beforeAll(async () => {
    server = await startNatsServer();
    await server.stop(); // its port is known, nothing listens on it yet
  });
  afterAll(async () => {
    await collector?.stop();
    await server?.destroy();
  });

  it("logs the refused attempts below error level with the retry delay, then connects", async () => {
    collector = await startCollector(server.url);
    const failures = () => collector.logs.filter((l) => typeof l.err === "string" && "servers" in l);
    for (let i = 0; i < 100 && failures().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(failures().length).toBeGreaterThan(0);
    for (const line of failures()) {
      expect(line.level).toBeLessThan(PINO_ERROR);
      expect(line).toMatchObject({ retryInMs: 5000 });
    }
    await server.start();
    await collector.waitReady(30_000);
    expect(collector.logs.filter((l) => Number(l.level) >= PINO_ERROR)).toEqual([]);
  }, 60_000);
});
