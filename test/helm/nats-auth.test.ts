/**
 * The bundled NATS's users and permissions, as the chart renders them, on a real nats-server (its nats.conf and
 * password Secret at their mount paths; only ports and store moved). The collector runs as the Deployment runs
 * it (env, its password file); the agent's own publishers run with the DaemonSet's env and password file. Each
 * may do what it needs — nats-server logs no violation by them — and the agent may not touch a stream.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventPublisher } from "../../agent/publish/event-publisher.js";
import { SummaryPublisher } from "../../agent/publish/summary-publisher.js";
import type { TransitionEvent } from "../../agent/wire/events.js";
import { SUMMARY_STREAM, summarySubject } from "../../agent/wire/subjects.js";
import { type NodeSummary, SUMMARY_LIMITS } from "../../agent/wire/summary.js";
import { ALERTS_STREAM, alertsSubject } from "../../collector/alerts/alert-event.js";
import { nodeWindow, podA, podC } from "../collector/alerts/alert-windows.js";
import { CLI } from "../support/agent-process.js";
import { waitHttpOk } from "../support/http-ready.js";
import type { NatsServer } from "../support/nats-server.js";
import { type ServiceProcess, startService } from "../support/service-process.js";
import { startBundledNats } from "./bundled-nats-server.js";
import type { K8sObject } from "./chart.js";
import { daemonSetAgent } from "./daemonset-agent.js";
import { deploymentCollector } from "./deployment-collector.js";
import { natsIdentity, violations } from "./nats-identity.js";
import { localEnv, writePodFiles } from "./pod-files.js";

const silent = pino({ level: "silent" });
const NODE = "node-1";

/** Window `seq` of NODE, moved to recent wall time so the collector's alert rules take it as live. */
function recentWindow(base: number, seq: number, timeWaitOfA: number): NodeSummary {
  const s = nodeWindow(NODE, seq, [
    { owner: podA, sockets: { TIME_WAIT: timeWaitOfA } },
    { owner: podC, sockets: { TIME_WAIT: 20 } },
  ]);
  return { ...s, windowStart: base + seq * 1000, windowEnd: base + (seq + 1) * 1000 };
}

describe("bundled NATS with the chart's users: agent and collector do their work, nothing more", () => {
  let dir: string;
  let server: NatsServer;
  let objects: K8sObject[];
  let agentEnv: Record<string, string>;
  let collectorEnv: Record<string, string>;
  let collectorArgs: string[];
  let collector: ServiceProcess | undefined;
  let summaries: SummaryPublisher;
  let events: EventPublisher;
  let emit: ((e: TransitionEvent) => void) | undefined;
  let asAgent: NatsConnection;
  let asCollector: NatsConnection;
  const base = Date.now() - 120_000;
  let seq = 0;

  /** Started with NATS_URL → the test server, on a free loopback port. */
  const startCollector = () =>
    startService([CLI, ...collectorArgs, "--listen", "127.0.0.1:0"], {
      env: { ...collectorEnv, NATS_URL: server.url },
    });
  const get = async (p: string) => fetch(`http://127.0.0.1:${collector?.port}${p}`);
  const publishWindows = async (n: number, timeWaitOfA: number) => {
    const before = summaries.published;
    for (let i = 0; i < n; i++) summaries.enqueue(recentWindow(base, seq++, timeWaitOfA));
    await expect.poll(() => summaries.published, { timeout: 15_000 }).toBe(before + n);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-nats-auth-"));
    // One render for all: the passwords are random per render. Alert rules fast enough for a test.
    const ds = daemonSetAgent(NODE, {
      "alerts.rules.TimeWaitBuildup.for": "2s",
      "alerts.rules.TimeWaitBuildup.holdDown": "1s",
      "alerts.rules.TimeWaitBuildup.baselineWindow": "1m",
    });
    objects = ds.objects;
    server = (await startBundledNats(objects)).server;
    agentEnv = localEnv(ds.env, await writePodFiles(path.join(dir, "agent"), ds.files));
    ({ args: collectorArgs, env: collectorEnv } = await deploymentCollector(
      objects,
      path.join(dir, "collector"),
    ));
    collector = await startCollector();
    await waitHttpOk(`http://127.0.0.1:${collector.port}/readyz`, 30_000);

    const agentNats = natsIdentity(agentEnv, server.url);
    events = new EventPublisher({
      node: NODE,
      mode: "on-demand",
      subscribe: (fn) => {
        emit = fn;
        return async () => {
          emit = undefined;
        };
      },
      logger: silent,
    });
    summaries = new SummaryPublisher({
      servers: [server.url],
      auth: agentNats.auth,
      node: NODE,
      bufferWindows: 100,
      logger: silent,
      onConnected: (nc) => events.attach(nc),
    });
    summaries.start();
    asAgent = await agentNats.connect("test-as-agent");
    asCollector = await natsIdentity(collectorEnv, server.url).connect("test-as-collector");
  }, 60_000);

  afterAll(async () => {
    await events?.stop();
    await summaries?.stop();
    await asAgent?.close();
    await asCollector?.close();
    await collector?.stop();
    await server?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("takes only its users: no credentials or a wrong password is refused", async () => {
    await expect(connect({ servers: server.url })).rejects.toThrow(/Authorization Violation/);
    await expect(connect({ servers: server.url, user: "agent", pass: "not-the-password" })).rejects.toThrow(
      /Authorization Violation/,
    );
    expect(agentEnv.NATS_USER).toBe("agent");
    expect(collectorEnv.NATS_USER).toBe("collector");
  });

  it("collector: created both streams, the summaries one bounded by the chart's MAX_BYTES", async () => {
    const jsm = await jetstreamManager(asCollector);
    const info = await jsm.streams.info(SUMMARY_STREAM);
    expect(info.config.max_bytes).toBe(Number(collectorEnv.MAX_BYTES));
    expect(Number(collectorEnv.MAX_BYTES)).toBe(Math.floor(10 * 2 ** 30 * 0.8));
    // The alerts stream once the collector has caught up with the summaries.
    await expect
      .poll(async () => (await jsm.streams.info(ALERTS_STREAM).catch(() => undefined))?.config.subjects, {
        timeout: 15_000,
      })
      .toEqual(["tcpstate.v1.alerts.>"]);
  });

  it("agent: its summaries are acknowledged by JetStream and read by the collector", async () => {
    await publishWindows(30, 10);
    const nodes = async () =>
      ((await (await get("/api/v1/nodes")).json()) as { nodes: { node: string }[] }).nodes.map((n) => n.node);
    await expect.poll(nodes, { timeout: 15_000 }).toContain(NODE);
  });

  it("agent: may neither delete, create nor read a stream", async () => {
    const jsm = await jetstreamManager(asAgent, { checkAPI: false });
    await expect(jsm.streams.delete(SUMMARY_STREAM)).rejects.toThrow(/Permissions Violation/);
    await expect(jsm.streams.add({ name: "EVIL", subjects: ["evil.>"] })).rejects.toThrow(
      /Permissions Violation/,
    );
    // Straight to the API subjects (nats.js would ask for the stream's info first).
    for (const op of ["UPDATE", "PURGE"])
      await expect(asAgent.request(`$JS.API.STREAM.${op}.${SUMMARY_STREAM}`, "{}")).rejects.toThrow(
        /Permissions Violation/,
      );
    await expect(jsm.consumers.add(SUMMARY_STREAM, { name: "peek" })).rejects.toThrow(
      /Permissions Violation/,
    );
    await expect(jsm.streams.getMessage(SUMMARY_STREAM, { seq: 1 })).rejects.toThrow(/Permissions Violation/);
    await expect(jetstream(asAgent).publish(alertsSubject("critical"), "{}")).rejects.toThrow(
      /Permissions Violation/,
    );
    // The stream is untouched.
    const info = await (await jetstreamManager(asCollector)).streams.info(SUMMARY_STREAM);
    expect(info.state.messages).toBeGreaterThanOrEqual(30);
  });

  it("collector: may not delete its streams either", async () => {
    const jsm = await jetstreamManager(asCollector);
    await expect(jsm.streams.delete(SUMMARY_STREAM)).rejects.toThrow(/Permissions Violation/);
    await expect(jsm.streams.delete(ALERTS_STREAM)).rejects.toThrow(/Permissions Violation/);
  });

  it("collector: publishes an alert into its stream, and reads it back after a restart", async () => {
    await publishWindows(5, 3000);
    const jsm = await jetstreamManager(asCollector);
    await expect
      .poll(async () => (await jsm.streams.info(ALERTS_STREAM)).state.messages, { timeout: 20_000 })
      .toBe(1);
    expect(await collector?.stop()).toBe(0);
    collector = await startCollector();
    const c = collector;
    await expect
      .poll(() => c.logs.find((l) => l.msg === "alert sinks live"), { timeout: 20_000 })
      .toMatchObject({
        firing: 1,
        catchUpEvents: 0,
      });
  });

  it("a message of the wire contract's largest summary size passes NATS; the collector dead-letters what is no summary", async () => {
    const deadLetters = async () =>
      [
        ...(await (await get("/metrics")).text()).matchAll(
          /^tcpstate_collector_dead_letters_total\{.*\} (\d+)$/gm,
        ),
      ]
        .map((m) => Number(m[1]))
        .reduce((x, y) => x + y, 0);
    const js = jetstream(asAgent);
    await js.publish(summarySubject(NODE), "not a summary", { msgID: "dead-1" });
    // As large as a summary may be, with the agent's message-id header: NATS takes it (max_payload).
    await js.publish(summarySubject(NODE), "x".repeat(SUMMARY_LIMITS.bytes), { msgID: "dead-2" });
    await expect.poll(deadLetters, { timeout: 15_000 }).toBe(2);
  });

  it("live events: the collector's lease reaches the agent, the agent's events reach the collector", async () => {
    const res = await get("/api/v1/events");
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await expect.poll(() => emit !== undefined, { timeout: 10_000 }).toBe(true);
    const event: TransitionEvent = {
      time: Date.now(),
      node: NODE,
      owner: podA,
      netns: 4026532000,
      cgroup: 1,
      from: "SYN_SENT",
      to: "ESTABLISHED",
      family: 4,
      saddr: "10.0.0.1",
      sport: 40000,
      daddr: "10.0.0.2",
      dport: 80,
    };
    let text = "";
    const deadline = Date.now() + 10_000;
    while (!text.includes('"dport":80') && Date.now() < deadline) {
      emit?.(event);
      const chunk = await Promise.race([
        reader.read(),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 500)),
      ]);
      if (chunk?.value) text += new TextDecoder().decode(chunk.value);
    }
    await reader.cancel();
    expect(JSON.parse(text.split("\n")[0] as string)).toMatchObject({ node: NODE, pod: "a", dport: 80 });
  });

  it("a NATS restart: the collector's consumer resumes and reads the windows published after it", async () => {
    const ingested = async () =>
      Number(
        (await (await get("/metrics")).text()).match(
          /^tcpstate_collector_ingested_windows_total (\d+)$/m,
        )?.[1],
      );
    const before = await ingested();
    await server.stop();
    await server.start();
    await publishWindows(3, 10);
    await expect.poll(ingested, { timeout: 20_000 }).toBe(before + 3);
  });

  it("nats-server logged no violation by agent or collector doing their work, only the ones provoked above", () => {
    expect(violations(server).sort()).toEqual(
      [
        "agent publish $JS.API.STREAM.DELETE.TCPSTATE_SUMMARIES",
        "agent publish $JS.API.STREAM.CREATE.EVIL",
        "agent publish $JS.API.STREAM.UPDATE.TCPSTATE_SUMMARIES",
        "agent publish $JS.API.STREAM.PURGE.TCPSTATE_SUMMARIES",
        `agent publish $JS.API.CONSUMER.CREATE.${SUMMARY_STREAM}.peek`,
        "agent publish $JS.API.STREAM.MSG.GET.TCPSTATE_SUMMARIES",
        "agent publish tcpstate.v1.alerts.critical",
        "collector publish $JS.API.STREAM.DELETE.TCPSTATE_SUMMARIES",
        "collector publish $JS.API.STREAM.DELETE.TCPSTATE_ALERTS",
      ].sort(),
    );
  });
});
