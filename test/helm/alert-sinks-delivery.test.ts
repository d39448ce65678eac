/**
 * The collector started with the env and files the chart's Deployment gives it for a webhook whose URL is a
 * secret and whose credentials are a bearer token and a private CA from a Secret: it delivers a firing alert to
 * an HTTPS receiver that requires the token, and after the token in the mounted Secret changes (as the kubelet
 * updates a directory mount) the next send carries the new one, with no restart. Mapped: the user's Secrets →
 * files under a temp root (podFiles/podEnv), the bundled NATS → its rendered configuration on a test
 * nats-server, the agent → its publisher logged in with the DaemonSet's identity.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SummaryPublisher } from "../../agent/publish/summary-publisher.js";
import type { NodeSummary } from "../../agent/wire/summary.js";
import type { AlertEvent } from "../../collector/alerts/alert-event.js";
import { nodeWindow, podA, podC } from "../collector/alerts/alert-windows.js";
import { type Receiver, startReceiver } from "../collector/alerts/http-receiver.js";
import { CLI } from "../support/agent-process.js";
import { waitHttpOk } from "../support/http-ready.js";
import type { NatsServer } from "../support/nats-server.js";
import { createPrivateCa, type PrivateCa } from "../support/private-ca.js";
import { type ServiceProcess, startService } from "../support/service-process.js";
import { startBundledNats } from "./bundled-nats-server.js";
import { daemonSetAgent } from "./daemonset-agent.js";
import { deploymentCollector } from "./deployment-collector.js";
import { natsIdentity } from "./nats-identity.js";
import { localEnv, userSecret, writePodFiles } from "./pod-files.js";

const NODE = "node-1";
const TOKEN_FILE = "/etc/tcpstate/sinks/webhook/token";

describe("webhook credentials from the chart's Secret mounts, used by the running collector", () => {
  let dir: string;
  let ca: PrivateCa;
  let receiver: Receiver;
  let server: NatsServer;
  let collector: ServiceProcess | undefined;
  let summaries: SummaryPublisher;
  let tokenFile: string;
  let token = "first-token-c41d9e";
  const base = Date.now() - 120_000;
  let seq = 0;

  const publishWindows = async (n: number, timeWaitOfA: number) => {
    const before = summaries.published;
    for (let i = 0; i < n; i++, seq++) {
      const s: NodeSummary = nodeWindow(NODE, seq, [
        { owner: podA, sockets: { TIME_WAIT: timeWaitOfA } },
        { owner: podC, sockets: { TIME_WAIT: 20 } },
      ]);
      summaries.enqueue({ ...s, windowStart: base + seq * 1000, windowEnd: base + (seq + 1) * 1000 });
    }
    await expect.poll(() => summaries.published, { timeout: 15_000 }).toBe(before + n);
  };
  /** The alert events the receiver accepted with `bearer`. */
  const delivered = (bearer: string) =>
    receiver.received
      .filter((r) => r.headers.authorization === `Bearer ${bearer}`)
      .map((r) => JSON.parse(r.body) as AlertEvent);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-sink-secrets-"));
    ca = createPrivateCa();
    const cert = ca.issue("receiver", "subjectAltName=IP:127.0.0.1");
    receiver = await startReceiver({
      tls: { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) },
      respond: (req, res) => res.writeHead(req.headers.authorization === `Bearer ${token}` ? 204 : 401).end(),
    });
    const ds = daemonSetAgent(NODE, {
      "alerts.rules.TimeWaitBuildup.for": "2s",
      "alerts.rules.TimeWaitBuildup.holdDown": "1s",
      "alerts.rules.TimeWaitBuildup.baselineWindow": "1m",
      "collector.webhook.urlSecret.name": "hook-url",
      "collector.webhook.existingSecret": "hook",
      "collector.webhook.existingSecretKeys": "{token,ca.crt}",
    });
    server = (await startBundledNats(ds.objects)).server;
    const { args, env } = await deploymentCollector(ds.objects, path.join(dir, "collector"), [
      userSecret("hook-url", { url: `${receiver.origin}/services/T0/B0/secret-path` }),
      userSecret("hook", { token, "ca.crt": readFileSync(ca.caFile, "utf8") }),
    ]);
    tokenFile = env.WEBHOOK_BEARER_TOKEN_FILE as string;
    expect(tokenFile).toBe(path.join(dir, "collector", TOKEN_FILE));
    collector = await startService([CLI, ...args, "--listen", "127.0.0.1:0"], {
      env: { ...env, NATS_URL: server.url },
    });
    await waitHttpOk(`http://127.0.0.1:${collector.port}/readyz`, 30_000);
    const agentEnv = localEnv(ds.env, await writePodFiles(path.join(dir, "agent"), ds.files));
    summaries = new SummaryPublisher({
      servers: [server.url],
      auth: natsIdentity(agentEnv, server.url).auth,
      node: NODE,
      bufferWindows: 100,
      logger: pino({ level: "silent" }),
    });
    summaries.start();
  }, 60_000);

  afterAll(async () => {
    await summaries?.stop();
    if (collector) expect(await collector.stop()).toBe(0);
    await server?.destroy();
    await receiver?.close();
    ca?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("delivers the firing alert over HTTPS (private CA) to the secret URL with the Secret's bearer token", async () => {
    await publishWindows(30, 10);
    await publishWindows(5, 3000);
    await expect
      .poll(() => delivered(token).map((e) => `${e.status} ${e.labels.alertname} ${e.labels.pod}`), {
        timeout: 20_000,
      })
      .toEqual(["firing TimeWaitBuildup a"]);
    expect(receiver.received[0]?.url).toBe("/services/T0/B0/secret-path");
    expect(receiver.received.every((r) => r.headers.authorization === `Bearer ${token}`)).toBe(true);
  }, 60_000);

  it("uses a rotated token from the next send, without a restart", async () => {
    const first = token;
    token = "rotated-token-8b20f7";
    await writeFile(tokenFile, token);
    await publishWindows(10, 10);
    await expect
      .poll(() => delivered(token).map((e) => `${e.status} ${e.labels.pod}`), { timeout: 20_000 })
      .toEqual(["resolved a"]);
    expect(delivered(first).map((e) => e.status)).toEqual(["firing"]);
  }, 60_000);
});
