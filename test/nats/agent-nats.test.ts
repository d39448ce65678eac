/** `tcpstate agent --nats-url`: summaries go to JetStream instead of stdout, and readiness follows NATS. */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { SUMMARY_STREAM, SUMMARY_SUBJECT_PREFIX, summarySubject } from "../../agent/wire/subjects.js";
import { NodeSummarySchema } from "../../agent/wire/summary.js";
import { type AgentProcess, startAgent, waitReady } from "../support/agent-process.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";

describe("agent with --nats-url (real kernel, real nats-server)", () => {
  let server: NatsServer | undefined;
  let agent: AgentProcess | undefined;
  afterAll(async () => {
    const code = await agent?.stop();
    await server?.destroy();
    expect(code).toBe(0);
  });

  it("publishes every window to tcpstate.v1.summary.<node> and is ready only while connected", async () => {
    server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: SUMMARY_STREAM, subjects: [`${SUMMARY_SUBJECT_PREFIX}.>`] });
    agent = await startAgent([
      "--standalone",
      "--node-name",
      "nats-node",
      "--interval",
      "1s",
      "--nats-url",
      server.url,
    ]);
    await waitReady(agent);
    await expect
      .poll(async () => (await jsm.streams.info(SUMMARY_STREAM)).state.messages, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(2);
    const last = await jsm.streams.getMessage(SUMMARY_STREAM, { last_by_subj: summarySubject("nats-node") });
    expect(NodeSummarySchema.parse(last?.json()).node).toBe("nats-node");
    expect(agent.summaries).toEqual([]); // nothing on stdout
    await nc.close();

    await server.stop();
    await expect.poll(async () => (await agent?.get("/readyz"))?.status, { timeout: 15_000 }).toBe(503);
    expect((await agent.get("/readyz")).text).toContain("NATS connection");
    await expect
      .poll(async () => (await agent?.get("/metrics"))?.text, { timeout: 10_000 })
      .toMatch(/^tcpstate_agent_publish_buffered_windows [1-9]/m);
    await server.start();
    await waitReady(agent, 30_000);
    await expect
      .poll(async () => (await agent?.get("/metrics"))?.text, { timeout: 15_000 })
      .toMatch(/^tcpstate_agent_publish_buffered_windows 0/m);
  });
});
