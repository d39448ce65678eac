/** The collector against a real nats-server: counts once, rebuilds from the stream, dead-letters bad input. */
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SummaryPublisher } from "../../agent/publish/summary-publisher.js";
import { DEADLETTER_SUBJECT, summarySubject } from "../../agent/wire/subjects.js";
import type { Owner } from "../../agent/wire/summary.js";
import { type CollectorProcess, startCollector } from "../support/collector-process.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { podOwner, retimed, testSummary } from "../support/summaries.js";

const web = (uid: string, name: string) => podOwner(uid, name);

/** Recent wall time (the 13 windows end within 35 s of it): the collector refuses windows from the future. */
const BASE = Date.now() - 30_000;

function summary(node: string, seq: number, pods: { owner: Owner; opens: number }[]) {
  return retimed(
    testSummary(
      node,
      seq,
      pods.map(({ owner, opens }) => ({ owner, window: { active_opens: opens, established: opens } })),
    ),
    BASE,
  );
}

type PodsBody = { pods: { name: string; node: string; total: { active_opens: number } }[] };

async function opensByPod(c: CollectorProcess): Promise<Record<string, number>> {
  const body = (await c.get("/api/v1/pods")).json() as PodsBody;
  return Object.fromEntries(body.pods.map((p) => [`${p.node}/${p.name}`, p.total.active_opens]));
}

describe("collector (real nats-server)", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  const collectors: CollectorProcess[] = [];
  const expected = { "node-1/web-a": 0, "node-1/web-b": 0, "node-2/web-c": 0 };

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    for (const c of collectors) await c.stop("SIGKILL");
    await nc?.close();
    await server?.destroy();
  });

  it("creates the stream, counts every window once, and keeps nodes apart", async () => {
    const collector = await startCollector(server.url);
    collectors.push(collector);
    await collector.waitReady();
    const logger = pino({ level: "silent" });
    for (const [node, pods] of [
      ["node-1", [web("a-uid", "web-a"), web("b-uid", "web-b")]],
      ["node-2", [web("c-uid", "web-c")]],
    ] as const) {
      const pub = new SummaryPublisher({ servers: [server.url], auth: {}, node, bufferWindows: 100, logger });
      pub.start();
      for (let seq = 0; seq < 12; seq++) {
        const entries = pods.map((owner, i) => ({ owner, opens: seq + i + 1 }));
        for (const e of entries) expected[`${node}/${e.owner.name}` as keyof typeof expected] += e.opens;
        pub.enqueue(summary(node, seq, entries));
      }
      await expect.poll(() => pub.published, { timeout: 10_000 }).toBe(12);
      await pub.stop();
    }
    await expect.poll(() => opensByPod(collector), { timeout: 10_000 }).toEqual(expected);
    const nodes = (await collector.get("/api/v1/nodes")).json() as {
      nodes: { node: string; windows: number }[];
    };
    expect(nodes.nodes.map((n) => [n.node, n.windows]).sort()).toEqual([
      ["node-1", 12],
      ["node-2", 12],
    ]);
    // Rollups: the three pods are one Deployment in one namespace; per node, its two or one pods.
    const workloads = (await collector.get("/api/v1/workloads")).json() as {
      workloads: { key: string; pods: number; total: { active_opens: number } }[];
    };
    const all = Object.values(expected).reduce((a, b) => a + b, 0);
    expect(workloads.workloads).toEqual([
      expect.objectContaining({
        key: "shop/Deployment/web",
        pods: 3,
        total: expect.objectContaining({ active_opens: all }),
      }),
    ]);
    const namespaces = (await collector.get("/api/v1/namespaces")).json() as {
      namespaces: { key: string; pods: number }[];
    };
    expect(namespaces.namespaces.map((n) => [n.key, n.pods])).toEqual([["shop", 3]]);
  });

  it("counts a window published twice once, even under another message id", async () => {
    const js = jetstream(nc);
    const again = summary("node-1", 3, [{ owner: web("a-uid", "web-a"), opens: 4 }]);
    await js.publish(summarySubject("node-1"), JSON.stringify(again), { msgID: "another-id" });
    const collector = collectors[0] as CollectorProcess;
    await expect
      .poll(async () => (await collector.get("/metrics")).text, { timeout: 10_000 })
      .toMatch(/^tcpstate_collector_duplicate_windows_total 1$/m);
    expect(await opensByPod(collector)).toEqual(expected);
  });

  it("dead-letters malformed and unknown-version messages, with the reason, and goes on", async () => {
    const dead: { reason: string | undefined; subject: string | undefined }[] = [];
    nc.subscribe(DEADLETTER_SUBJECT, {
      callback: (_e, m) => {
        dead.push({ reason: m.headers?.get("Tcpstate-Reason"), subject: m.headers?.get("Tcpstate-Subject") });
      },
    });
    const js = jetstream(nc);
    await js.publish(summarySubject("node-9"), "{not json", { msgID: "bad-1" });
    await js.publish(
      summarySubject("node-9"),
      JSON.stringify({ schema: "tcpstate.v2.summary", node: "node-9" }),
      {
        msgID: "bad-2",
      },
    );
    const after = summary("node-2", 12, [{ owner: web("c-uid", "web-c"), opens: 100 }]);
    await js.publish(summarySubject("node-2"), JSON.stringify(after), { msgID: "good-after-bad" });
    expected["node-2/web-c"] += 100;
    const collector = collectors[0] as CollectorProcess;
    await expect.poll(() => opensByPod(collector), { timeout: 10_000 }).toEqual(expected);
    await expect.poll(() => dead.length, { timeout: 5000 }).toBe(2);
    expect(dead).toEqual([
      { reason: "malformed", subject: summarySubject("node-9") },
      { reason: "unknown-version", subject: summarySubject("node-9") },
    ]);
    const metrics = (await collector.get("/metrics")).text;
    expect(metrics).toContain('tcpstate_collector_dead_letters_total{reason="malformed"} 1');
    expect(metrics).toContain('tcpstate_collector_dead_letters_total{reason="unknown-version"} 1');
    expect(
      collector.logs.some((l) => l.reason === "malformed" && l.subject === summarySubject("node-9")),
    ).toBe(true);
  });

  it("rebuilds the same totals after SIGKILL, and a second collector answers the same", async () => {
    const first = collectors[0] as CollectorProcess;
    await first.stop("SIGKILL");
    const restarted = await startCollector(server.url);
    const second = await startCollector(server.url);
    collectors.push(restarted, second);
    await restarted.waitReady();
    await second.waitReady();
    expect(await opensByPod(restarted)).toEqual(expected);
    expect(await opensByPod(second)).toEqual(expected);
    expect(await restarted.stop()).toBe(0);
  });
});

describe("collector start-up without a usable NATS", () => {
  it("stays up and unready, says why, and retries: unreachable URL and wrong credentials", async () => {
    const server = await startNatsServer({ user: "collector", password: "right" });
    const unreachable = await startCollector("nats://127.0.0.1:1");
    const wrongCreds = await startCollector(server.url, [
      "--nats-user",
      "collector",
      "--nats-password",
      "wrong",
    ]);
    try {
      for (const c of [unreachable, wrongCreds]) {
        const r = await c.get("/readyz");
        expect(r.status).toBe(503);
        expect(r.text).toContain("NATS connection");
      }
      await expect
        .poll(() => wrongCreds.logs.some((l) => /authoriz/i.test(String(l.err))), { timeout: 10_000 })
        .toBe(true);
      expect(unreachable.logs.some((l) => String(l.msg).startsWith("connecting to NATS"))).toBe(true);
      await new Promise((r) => setTimeout(r, 1000));
      expect(unreachable.child.exitCode).toBeNull();
      expect(wrongCreds.child.exitCode).toBeNull();
    } finally {
      expect(await unreachable.stop()).toBe(0);
      expect(await wrongCreds.stop()).toBe(0);
      await server.destroy();
    }
  });
});
