/**
 * A collector starved of CPU (SIGSTOP) for longer than nats-server waits for a client: the server drops it, and
 * once resumed it reconnects, reads what it missed, says it is behind (not ready) and then caught up (ready),
 * with every window counted once, and no restart.
 */
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summarySubject } from "../../agent/wire/subjects.js";
import { BEHIND_SUMMARIES } from "../../collector/ingest/summary-ingest.js";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { podOwner, retimed, testSummary } from "../support/summaries.js";

/** Windows sent while the collector is stopped: more than it may lag and still be ready. */
const MISSED = BEHIND_SUMMARIES + 500;
/** Short windows, so the missed ones all end in the past (the collector refuses windows from the future). */
const WINDOW_MS = 10;

describe("collector starved by SIGSTOP (real nats-server)", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let collector: CollectorProcess;
  const base = Date.now() - 120_000;

  beforeAll(async () => {
    // The server pings every second and drops a client that misses two, or that blocks a write for a second;
    // debug logs say when it does.
    server = await startNatsServer({
      config: 'ping_interval: "1s"\nping_max: 2\nwrite_deadline: "1s"\ndebug: true',
    });
    nc = await connect({ servers: server.url });
    collector = await startCollector(server.url);
    await collector.waitReady();
  });
  afterAll(async () => {
    if (collector?.child.exitCode === null) collector.child.kill("SIGCONT");
    await collector?.stop("SIGKILL");
    await nc?.close();
    await server?.destroy();
  });

  const opens = async () => {
    const body = (await collector.get("/api/v1/pods?node=node-1")).json() as {
      pods: { total: { active_opens: number } }[];
    };
    return body.pods[0]?.total.active_opens ?? 0;
  };
  const publish = async (from: number, count: number) => {
    const js = jetstream(nc);
    for (let seq = from; seq < from + count; seq++) {
      const s = retimed(
        testSummary("node-1", seq, [{ owner: podOwner("uid-1", "web-1"), window: { active_opens: 1 } }]),
        base,
        WINDOW_MS,
      );
      await js.publish(summarySubject("node-1"), JSON.stringify(s), { msgID: `node-1/${seq}` });
    }
  };

  it("catches up and is ready again without a restart", async () => {
    await publish(0, 10);
    await expect.poll(opens, { timeout: 10_000 }).toBe(10);
    const pid = collector.child.pid as number;
    collector.child.kill("SIGSTOP");
    try {
      await publish(10, MISSED);
      // Until nats-server has given up on the stopped client.
      await expect
        .poll(() => /Stale Client Connection|Slow Consumer|Write Deadline/i.test(server.log()), {
          timeout: 15_000,
        })
        .toBe(true);
    } finally {
      collector.child.kill("SIGCONT");
    }
    await expect.poll(opens, { timeout: 60_000, interval: 500 }).toBe(10 + MISSED);
    await collector.waitReady(60_000);
    expect(collector.child.pid).toBe(pid);
    expect(collector.child.exitCode).toBeNull();
    const said = collector.logs.map((l) => String(l.msg));
    const behind = said.findIndex((m) => m.startsWith("behind the summaries stream"));
    const again = said.findIndex((m) => m === "caught up with the stream again");
    expect(behind).toBeGreaterThanOrEqual(0);
    expect(again).toBeGreaterThan(behind);
    const metrics = (await collector.get("/metrics")).text;
    expect(metrics).toMatch(/^tcpstate_collector_duplicate_windows_total 0$/m);
    expect(metrics).toMatch(/^tcpstate_collector_consumer_pending_messages 0$/m);
  });
});
