/**
 * Per-node agent identities on the bundled NATS (agent.natsNodeCredentials + nats.auth.agentNodeKeys), on a real
 * nats-server from the rendered config: each node's agent logs in with the NKey seed on its node (a hostPath,
 * never a Secret) and may publish only its own node's summaries and events and hear only its own leases; the
 * shared agent user is gone.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createUser } from "@nats-io/nkeys";
import type { NatsConnection } from "@nats-io/transport-node";
import { connect } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { SummaryPublisher } from "../../agent/publish/summary-publisher.js";
import {
  EVENTS_CONTROL_SUBJECT,
  eventsSubject,
  SUMMARY_STREAM,
  subjectToken,
  summarySubject,
} from "../../agent/wire/subjects.js";
import { ensureStream } from "../../collector/ingest/summary-ingest.js";
import { nodeWindow, podA } from "../collector/alerts/alert-windows.js";
import type { NatsServer } from "../support/nats-server.js";
import { startBundledNats } from "./bundled-nats-server.js";
import { all, type K8sObject, one } from "./chart.js";
import { daemonSetAgent, toHost } from "./daemonset-agent.js";
import { deploymentCollector } from "./deployment-collector.js";
import { natsIdentity, violations } from "./nats-identity.js";

const silent = pino({ level: "silent" });
// A node name with dots, as clouds name nodes: one subject token with "_" for ".".
const NODE_A = "ip-10-0-1-17.ec2.internal";
const NODE_B = "node-b";

describe("per-node agent identities on the bundled NATS", () => {
  const keys = { [NODE_A]: createUser(), [NODE_B]: createUser() };
  let dir: string;
  let server: NatsServer;
  let objects: K8sObject[];
  let agentEnv: Record<string, string>;
  let asNodeA: NatsConnection;
  let asCollector: NatsConnection;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-nats-node-"));
    // What an operator provisions on node A: its seed, at agent.natsNodeCredentials.hostPath.
    const seedOnNode = path.join(dir, "node-a", "nats-agent.nk");
    await mkdir(path.dirname(seedOnNode));
    await writeFile(seedOnNode, new TextDecoder().decode(keys[NODE_A].getSeed()), { mode: 0o600 });
    const values = path.join(dir, "values.yaml");
    await writeFile(
      values,
      stringify({
        agent: { natsNodeCredentials: { enabled: true, type: "nkey", hostPath: seedOnNode } },
        nats: {
          auth: {
            agentNodeKeys: Object.fromEntries(Object.entries(keys).map(([n, k]) => [n, k.getPublicKey()])),
          },
        },
      }),
    );
    const ds = daemonSetAgent(NODE_A, {}, [values]);
    objects = ds.objects;
    agentEnv = Object.fromEntries(Object.entries(ds.env).map(([k, v]) => [k, toHost(v, ds.mounts)]));
    server = (await startBundledNats(objects)).server;
    asNodeA = await natsIdentity(agentEnv, server.url).connect("test-node-a");
    const collector = await deploymentCollector(objects, path.join(dir, "collector"));
    asCollector = await natsIdentity(collector.env, server.url).connect("test-collector");
    // The collector's own code creates the stream, as it does at start.
    await ensureStream(await jetstreamManager(asCollector), {
      retentionMs: 3_600_000,
      maxBytes: Number(collector.env.MAX_BYTES),
      duplicateWindowMs: 60_000,
      logger: silent,
    });
  }, 60_000);

  afterAll(async () => {
    await asNodeA?.close();
    await asCollector?.close();
    await server?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the agent reads its node's seed from the node (hostPath), and no Secret holds an agent password", () => {
    expect(agentEnv.NATS_NKEY).toBe(path.join(dir, "node-a", "nats-agent.nk"));
    expect(agentEnv.NATS_USER).toBeUndefined();
    expect(agentEnv.NATS_PASSWORD_FILE).toBeUndefined();
    expect(all(objects, "Secret").map((s) => s.metadata.name)).not.toContain("t-tcpstate-nats-agent");
    const conf = one(objects, "ConfigMap", "-nats").data["nats.conf"] as string;
    expect(conf).not.toContain("user: agent");
  });

  it("the shared agent user is refused", async () => {
    await expect(connect({ servers: server.url, user: "agent", pass: "anything-at-all" })).rejects.toThrow(
      /Authorization Violation/,
    );
  });

  it("node A's agent publishes node A's summaries, acknowledged by JetStream", async () => {
    const publisher = new SummaryPublisher({
      servers: [server.url],
      auth: natsIdentity(agentEnv, server.url).auth,
      node: NODE_A,
      bufferWindows: 10,
      logger: silent,
    });
    publisher.start();
    try {
      publisher.enqueue(nodeWindow(NODE_A, 0, [{ owner: podA }]));
      await expect.poll(() => publisher.published, { timeout: 15_000 }).toBe(1);
    } finally {
      await publisher.stop();
    }
    const jsm = await jetstreamManager(asCollector);
    const info = await jsm.streams.info(SUMMARY_STREAM, { subjects_filter: ">" });
    expect(info.state.subjects).toEqual({ [summarySubject(NODE_A)]: 1 });
  });

  it("node A's identity cannot publish node B's summaries or events, nor hear node B's leases", async () => {
    await expect(
      jetstream(asNodeA).publish(summarySubject(NODE_B), JSON.stringify(nodeWindow(NODE_B, 0, []))),
    ).rejects.toThrow(/Permissions Violation/);
    asNodeA.publish(eventsSubject(NODE_B), "{}");
    asNodeA.subscribe(`${EVENTS_CONTROL_SUBJECT}.${NODE_B}`);
    // Its own lease subjects it may hear.
    asNodeA.subscribe(EVENTS_CONTROL_SUBJECT);
    asNodeA.subscribe(`${EVENTS_CONTROL_SUBJECT}.${subjectToken(NODE_A)}`);
    await asNodeA.flush();
    const nodeA = keys[NODE_A].getPublicKey();
    await expect
      .poll(() => violations(server).filter((v) => v.startsWith(nodeA)), { timeout: 5000 })
      .toEqual([
        `${nodeA} publish ${summarySubject(NODE_B)}`,
        `${nodeA} publish ${eventsSubject(NODE_B)}`,
        `${nodeA} subscription ${EVENTS_CONTROL_SUBJECT}.${NODE_B}`,
      ]);
  });
});
