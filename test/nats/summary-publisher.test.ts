/** The agent's JetStream publisher against a real nats-server: order, idempotence, buffering, credentials. */
import { Writable } from "node:stream";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { SummaryPublisher, summaryMessageId } from "../../agent/publish/summary-publisher.js";
import { SUMMARY_STREAM, SUMMARY_SUBJECT_PREFIX } from "../../agent/wire/subjects.js";
import type { NodeSummary } from "../../agent/wire/summary.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";
import { HOST, testSummary } from "../support/summaries.js";

function summary(seq: number, node = "node-a.example"): NodeSummary {
  return testSummary(node, seq, [{ owner: HOST, window: { active_opens: seq } }], "boot-1");
}

/** A logger whose JSON lines the test can read. */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, sink), lines };
}

async function waitFor(what: string, pred: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The stream as the collector will create it; returns the seq fields of its messages in stream order. */
async function createStream(
  server: NatsServer,
  auth: { user?: string; password?: string; token?: string } = {},
): Promise<() => Promise<number[]>> {
  const opts = {
    servers: server.url,
    ...(auth.user ? { user: auth.user, pass: auth.password } : {}),
    ...(auth.token ? { token: auth.token } : {}),
  };
  const nc = await connect(opts);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: SUMMARY_STREAM,
    subjects: [`${SUMMARY_SUBJECT_PREFIX}.>`],
    duplicate_window: 20 * 60e9,
  });
  await nc.close();
  return async () => {
    const c = await connect(opts);
    const m = await jetstreamManager(c);
    const info = await m.streams.info(SUMMARY_STREAM);
    const seqs: number[] = [];
    for (let s = info.state.first_seq; s <= info.state.last_seq && info.state.messages > 0; s++) {
      const msg = await m.streams.getMessage(SUMMARY_STREAM, { seq: s });
      if (msg) seqs.push((msg.json() as NodeSummary).seq);
    }
    await c.close();
    return seqs;
  };
}

/** node-a.example's publisher with a buffer of 10 windows, started. */
function startPublisher(server: NatsServer, logger: pino.Logger): SummaryPublisher {
  const publisher = new SummaryPublisher({
    servers: [server.url],
    auth: {},
    node: "node-a.example",
    bufferWindows: 10,
    logger,
  });
  publisher.start();
  return publisher;
}

describe("SummaryPublisher (real nats-server with JetStream)", () => {
  let server: NatsServer | undefined;
  let publisher: SummaryPublisher | undefined;
  afterEach(async () => {
    await publisher?.stop(1000);
    await server?.destroy();
    publisher = undefined;
    server = undefined;
  });

  it("publishes windows in order on tcpstate.v1.summary.<node>, and a window published twice is stored once", async () => {
    server = await startNatsServer();
    const stored = await createStream(server);
    const { logger } = capturingLogger();
    publisher = startPublisher(server, logger);
    for (const seq of [0, 1, 2]) publisher.enqueue(summary(seq));
    await waitFor("3 published", () => publisher?.published === 3);
    publisher.enqueue(summary(1)); // the same window again (same idempotent id)
    await waitFor("the duplicate acknowledged", () => publisher?.published === 4);
    expect(await stored()).toEqual([0, 1, 2]);
    const nc = await connect({ servers: server.url });
    const msg = await (await jetstreamManager(nc)).streams.getMessage(SUMMARY_STREAM, {
      last_by_subj: "tcpstate.v1.summary.node-a_example",
    });
    expect(msg?.header?.get("Nats-Msg-Id")).toBe("node-a.example/boot-1/2");
    await nc.close();
  });

  it("a window whose message id someone published first is stored all the same, under a fresh id", async () => {
    server = await startNatsServer();
    const stored = await createStream(server);
    const nc = await connect({ servers: server.url });
    // A squatter guesses the id of the next window (node/boot/seq) and publishes it first, on another subject.
    const squat = summary(0);
    await jetstream(nc).publish("tcpstate.v1.summary.squatter", "{}", { msgID: summaryMessageId(squat) });
    await nc.close();
    const { logger, lines } = capturingLogger();
    publisher = startPublisher(server, logger);
    publisher.enqueue(summary(0));
    publisher.enqueue(summary(1));
    await waitFor("2 published", () => publisher?.published === 2);
    expect(publisher.squatted).toBe(1);
    // The squatter's message ("{}" has no seq) and both real windows.
    expect(await stored()).toEqual([undefined, 0, 1]);
    expect(lines.some((l) => String(l.msg).includes("message id was taken"))).toBe(true);
  });

  it("buffers while NATS is down, drops the oldest when full (counted), and delivers the backlog in order", async () => {
    server = await startNatsServer();
    const stored = await createStream(server);
    const { logger } = capturingLogger();
    publisher = new SummaryPublisher({
      servers: [server.url],
      auth: {},
      node: "node-a",
      bufferWindows: 3,
      logger,
    });
    publisher.start();
    publisher.enqueue(summary(0, "node-a"));
    await waitFor("first published", () => publisher?.published === 1);
    await server.stop();
    await waitFor("disconnect noticed", () => publisher?.connected === false);
    for (const seq of [1, 2, 3, 4, 5]) publisher.enqueue(summary(seq, "node-a"));
    expect(publisher.buffered).toBe(3);
    expect(publisher.dropped).toBe(2);
    await server.start(); // same port, same store: the stream is still there
    await waitFor("backlog delivered", () => publisher?.buffered === 0, 30_000);
    expect(await stored()).toEqual([0, 3, 4, 5]);
  });

  it("authenticates with a user and password, or a token read from a secret file", async () => {
    const { natsAuthFromConfig } = await import("../../agent/wire/nats-connection.js");
    const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const dir = await mkdtemp(`${tmpdir()}/tcpstate-secret-`);
    try {
      await writeFile(`${dir}/token`, "s3cret-token\n");
      for (const [serverOpts, auth] of [
        [{ user: "agent", password: "pw" }, natsAuthFromConfig({ natsUser: "agent", natsPassword: "pw" })],
        [{ token: "s3cret-token" }, natsAuthFromConfig({ natsTokenFile: `${dir}/token` })],
      ] as const) {
        server = await startNatsServer(serverOpts);
        const stored = await createStream(server, serverOpts);
        const { logger } = capturingLogger();
        publisher = new SummaryPublisher({
          servers: [server.url],
          auth,
          node: "node-a",
          bufferWindows: 5,
          logger,
        });
        publisher.start();
        publisher.enqueue(summary(7, "node-a"));
        await waitFor("published", () => publisher?.published === 1);
        expect(await stored()).toEqual([7]);
        await publisher.stop(1000);
        await server.destroy();
        publisher = undefined;
        server = undefined;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps trying with wrong credentials, says why, and never crashes", async () => {
    server = await startNatsServer({ user: "agent", password: "right" });
    const { logger, lines } = capturingLogger();
    publisher = new SummaryPublisher({
      servers: [server.url],
      auth: { user: "agent", password: "wrong" },
      node: "node-a",
      bufferWindows: 5,
      logger,
    });
    publisher.start();
    publisher.enqueue(summary(0, "node-a"));
    await waitFor("an authorization error logged", () =>
      lines.some((l) => /authoriz/i.test(String(l.err ?? l.msg))),
    );
    expect(publisher.connected).toBe(false);
    expect(publisher.buffered).toBe(1);
  });
});
