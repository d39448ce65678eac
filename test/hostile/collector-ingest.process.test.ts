/**
 * Hostile summaries against a real collector and nats-server: whatever a pod able to publish on NATS sends, the
 * collector stays up and answering, refuses it with a counted reason, and applies good input sent right after.
 */
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEADLETTER_SUBJECT, SUMMARY_SUBJECT_PREFIX, summarySubject } from "../../agent/wire/subjects.js";
import { SUMMARY_LIMITS } from "../../agent/wire/summary.js";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";
import { HEALTH_DEADLINE_MS, watchHealth } from "../support/health-watch.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { podOwner, retimed, testSummary } from "../support/summaries.js";

const BASE = Date.now() - 30_000;
let msgId = 0;

type PodsBody = { pods: { name: string; node: string; total: { active_opens: number } }[] };

describe("hostile summaries (real collector, nats-server)", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let collector: CollectorProcess;
  let seq = 0;

  const publish = (subject: string, data: string | Uint8Array, id = `hostile-${msgId++}`) =>
    jetstream(nc).publish(subject, data, { msgID: id });
  /** A good window of node-1 for pod web-1 with `opens` active opens. */
  const good = (opens: number) =>
    retimed(
      testSummary("node-1", seq++, [{ owner: podOwner("uid-1", "web-1"), window: { active_opens: opens } }]),
      BASE,
    );
  const opensOf = async (node: string, name: string) => {
    const body = (await collector.get(`/api/v1/pods?node=${node}&limit=10000`)).json() as PodsBody;
    return body.pods.find((p) => p.node === node && p.name === name)?.total.active_opens;
  };
  const metric = async (line: RegExp) => line.exec((await collector.get("/metrics")).text)?.[1];
  /** Publishes a good window after the bad input and waits until it is applied (so the bad one was handled). */
  async function goodInputStillApplied(): Promise<void> {
    const before = (await opensOf("node-1", "web-1")) ?? 0;
    const s = good(7);
    await publish(summarySubject("node-1"), JSON.stringify(s));
    await expect.poll(() => opensOf("node-1", "web-1"), { timeout: 10_000 }).toBe(before + 7);
  }

  beforeAll(async () => {
    // A server that takes more than NATS's default 1 MB, so the collector's own byte limit is what refuses.
    server = await startNatsServer({ config: `max_payload: ${2 * SUMMARY_LIMITS.bytes}` });
    nc = await connect({ servers: server.url });
    expect(nc.info?.max_payload).toBe(2 * SUMMARY_LIMITS.bytes);
    collector = await startCollector(server.url);
    await collector.waitReady();
  });
  afterAll(async () => {
    await collector?.stop("SIGKILL");
    await nc?.close();
    await server?.destroy();
  });

  it("a 15-byte malformed message with CR/LF is dead-lettered with clean headers; the collector stays up", async () => {
    const dead: { reason?: string; detail?: string }[] = [];
    const sub = nc.subscribe(DEADLETTER_SUBJECT, {
      callback: (_e, m) => {
        dead.push({ reason: m.headers?.get("Tcpstate-Reason"), detail: m.headers?.get("Tcpstate-Detail") });
      },
    });
    const health = watchHealth(`http://127.0.0.1:${collector.port}`, collector.child.pid as number);
    await publish(`${SUMMARY_SUBJECT_PREFIX}.x`, '{"schema":\r\n x}');
    await goodInputStillApplied();
    const record = await health.stop();
    expect(record.failures).toEqual([]);
    expect(collector.child.exitCode).toBeNull();
    await expect.poll(() => dead.length, { timeout: 5000 }).toBe(1);
    expect(dead[0]?.reason).toBe("malformed");
    expect(dead[0]?.detail).not.toMatch(/[\r\n]/);
    expect(await metric(/^tcpstate_collector_dead_letters_total\{reason="malformed"\} (\d+)$/m)).toBe("1");
    sub.unsubscribe();
  });

  it("a summary for another node than its subject's is refused: no node can speak for another", async () => {
    const forged = retimed(
      testSummary("victim", 0, [{ owner: podOwner("uid-v", "victim-pod"), window: { active_opens: 9 } }]),
      BASE,
    );
    await publish(summarySubject("attacker"), JSON.stringify(forged));
    for (const subject of [`${SUMMARY_SUBJECT_PREFIX}.a.b.c`]) await publish(subject, JSON.stringify(forged));
    await goodInputStillApplied();
    expect(await metric(/^tcpstate_collector_dead_letters_total\{reason="wrong-subject"\} (\d+)$/m)).toBe(
      "2",
    );
    const nodes = (await collector.get("/api/v1/nodes")).json() as { nodes: { node: string }[] };
    expect(nodes.nodes.map((n) => n.node)).toEqual(["node-1"]);
  });

  it("a forged entry with a real pod's UID, from another node, does not rewrite that pod", async () => {
    const real = (await opensOf("node-1", "web-1")) as number;
    const forged = retimed(
      testSummary("attacker", 0, [
        { owner: podOwner("uid-1", "web-1"), window: { active_opens: 1_000_000 } },
      ]),
      BASE,
    );
    await publish(summarySubject("attacker"), JSON.stringify(forged));
    await expect.poll(() => opensOf("attacker", "web-1"), { timeout: 10_000 }).toBe(1_000_000);
    expect(await opensOf("node-1", "web-1")).toBe(real);
  });

  it("windows from the future (year 3000) and past the contract's bounds are refused", async () => {
    const s = good(1);
    await publish(
      summarySubject("node-1"),
      JSON.stringify({ ...s, windowStart: 32503680000000, windowEnd: 32503680005000 }),
    );
    await publish(summarySubject("node-1"), JSON.stringify({ ...good(1), node: "n".repeat(300) }));
    await publish(summarySubject("node-1"), new Uint8Array(SUMMARY_LIMITS.bytes + 1).fill(0x20));
    await goodInputStillApplied();
    expect(await metric(/^tcpstate_collector_dead_letters_total\{reason="from-the-future"\} (\d+)$/m)).toBe(
      "1",
    );
    expect(await metric(/^tcpstate_collector_dead_letters_total\{reason="too-large"\} (\d+)$/m)).toBe("1");
    expect(await metric(/^tcpstate_collector_dead_letters_total\{reason="invalid"\} (\d+)$/m)).toBe("1");
  });

  it("100,000 forged pods in 1 MB messages: memory stays bounded, /healthz answers, good input applies", async () => {
    const nodes = 100;
    const perNode = SUMMARY_LIMITS.pods;
    const health = watchHealth(`http://127.0.0.1:${collector.port}`, collector.child.pid as number);
    for (let n = 0; n < nodes; n++) {
      const node = `forged-${n}`;
      const pods = Array.from({ length: perNode }, (_, i) => ({
        owner: {
          ...podOwner(`f-${n}-${i}`, `pod-${"x".repeat(150)}-${i}`, `ns-${i % 50}`, `w-${"y".repeat(150)}`),
          labels: { app: "z".repeat(63), tier: "z".repeat(63) },
        },
        window: { active_opens: 1 },
      }));
      const s = retimed(testSummary(node, 0, pods), BASE);
      const data = JSON.stringify(s);
      expect(data.length).toBeLessThanOrEqual(SUMMARY_LIMITS.bytes);
      await publish(summarySubject(node), data);
    }
    await goodInputStillApplied();
    const record = await health.stop();
    expect(record.failures).toEqual([]);
    expect(record.slowestMs).toBeLessThan(HEALTH_DEADLINE_MS);
    expect(record.peakRss).toBeLessThan(1.5e9);
    expect(Number(await metric(/^tcpstate_collector_tracked_pods (\d+)$/m))).toBeGreaterThanOrEqual(
      nodes * perNode,
    );
  });
});
