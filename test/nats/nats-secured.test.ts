/**
 * A production NATS: TLS with its own CA, client certificates required (mTLS), and NKey users; or operator
 * mode with JWT users (.creds files). Agent and collector connect with the --nats-tls-*, --nats-nkey and
 * --nats-creds flags, and the agent's windows reach the collector; an untrusted server certificate or an
 * unknown NKey keeps them unready, saying why.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createUser } from "@nats-io/nkeys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, waitReady } from "../support/agent-process.js";
import { startCollector } from "../support/collector-process.js";
import { natsOperator } from "../support/nats-jwt.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";

/** A new P-256 key and no passphrase, for every certificate here. */
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A certificate for `name` signed by the CA in `dir`, with the extension `ext` (names, key usage). */
function issue(dir: string, name: string, ext: string): void {
  const file = (suffix: string) => path.join(dir, `${name}${suffix}`);
  const request = ["-keyout", file("-key.pem"), "-out", file(".csr"), "-subj", `/CN=${name}`];
  execFileSync("openssl", ["req", ...NEW_KEY, ...request]);
  writeFileSync(file(".ext"), `${ext}\n`);
  execFileSync("openssl", [
    ...["x509", "-req", "-in", file(".csr"), "-days", "1", "-out", file(".pem")],
    ...["-CA", path.join(dir, "ca.pem"), "-CAkey", path.join(dir, "ca-key.pem"), "-CAcreateserial"],
    ...["-extfile", file(".ext")],
  ]);
}

/** The agents and collectors a describe started; stopped before its NATS is. */
const running: { stop(): Promise<number | null> }[] = [];
async function stopRunning(): Promise<void> {
  for (const r of running.splice(0)) await r.stop();
}

/** A collector and a standalone agent, each with its NATS flags: the agent's windows show up as its node. */
async function agentReachesCollector(url: string, collectorFlags: string[], agentFlags: string[]) {
  const collector = await startCollector(url, collectorFlags);
  running.push(collector);
  await collector.waitReady();
  const agent = await startAgent([
    ...["--standalone", "--node-name", "secure-node", "--interval", "1s", "--nats-url", url],
    ...agentFlags,
  ]);
  running.push(agent);
  await waitReady(agent);
  const nodes = async () =>
    ((await collector.get("/api/v1/nodes")).json() as { nodes: { node: string }[] }).nodes.map((n) => n.node);
  await expect.poll(nodes, { timeout: 15_000 }).toContain("secure-node");
}

describe("agent and collector on a NATS with TLS (own CA, client certificates) and NKey users", () => {
  let dir: string;
  let server: NatsServer;
  const seeds: Record<"agent" | "collector" | "stranger", string> = {
    agent: "",
    collector: "",
    stranger: "",
  };

  /** One side's NATS secrets: its NKey seed, the client certificate, and (unless told not to) trust in the CA. */
  const secrets = (who: keyof typeof seeds, trustCa = true) => [
    ...["--nats-nkey", seeds[who], ...(trustCa ? ["--nats-tls-ca", path.join(dir, "ca.pem")] : [])],
    ...["--nats-tls-cert", path.join(dir, "client.pem"), "--nats-tls-key", path.join(dir, "client-key.pem")],
  ];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-nats-tls-"));
    const ca = ["-keyout", path.join(dir, "ca-key.pem"), "-out", path.join(dir, "ca.pem"), "-days", "1"];
    execFileSync("openssl", ["req", "-x509", ...NEW_KEY, ...ca, "-subj", "/CN=tcpstate test CA"]);
    // nats.js checks a server addressed by IP against the name "localhost" (it sends no SNI for an IP).
    issue(dir, "server", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    issue(dir, "client", "extendedKeyUsage=clientAuth");
    const users: string[] = [];
    for (const who of Object.keys(seeds) as (keyof typeof seeds)[]) {
      const kp = createUser();
      seeds[who] = path.join(dir, `${who}.nk`);
      await writeFile(seeds[who], new TextDecoder().decode(kp.getSeed()), { mode: 0o600 });
      if (who !== "stranger") users.push(`{ nkey: ${kp.getPublicKey()} }`);
    }
    server = await startNatsServer({
      config: [
        "tls {",
        `  cert_file: "${path.join(dir, "server.pem")}"`,
        `  key_file: "${path.join(dir, "server-key.pem")}"`,
        `  ca_file: "${path.join(dir, "ca.pem")}"`,
        "  verify: true",
        "}",
        `authorization { users: [ ${users.join(", ")} ] }`,
      ].join("\n"),
    });
  });
  afterAll(async () => {
    await stopRunning();
    await server?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("connects both with TLS and their NKeys; the agent's windows reach the collector", async () => {
    expect(server.url).toMatch(/^tls:\/\//);
    await agentReachesCollector(server.url, secrets("collector"), secrets("agent"));
  }, 60_000);

  it("stays unready and says why: a server certificate it does not trust, an NKey the server does not know", async () => {
    // Without --nats-tls-ca the server's certificate is checked against the system's CAs, which never signed it.
    const untrusting = await startCollector(server.url, secrets("collector", false));
    running.push(untrusting);
    const stranger = await startCollector(server.url, secrets("stranger"));
    running.push(stranger);
    await expect
      .poll(() => untrusting.logs.some((l) => /certificate/i.test(String(l.err))), { timeout: 10_000 })
      .toBe(true);
    await expect
      .poll(() => stranger.logs.some((l) => /authoriz/i.test(String(l.err))), { timeout: 10_000 })
      .toBe(true);
    for (const c of [untrusting, stranger]) {
      const r = await c.get("/readyz");
      expect(r.status).toBe(503);
      expect(r.text).toContain("NATS connection");
    }
  }, 60_000);
});

describe("agent and collector on a NATS in operator mode (JWT users, .creds files)", () => {
  let dir: string;
  let server: NatsServer;
  const operator = natsOperator();
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-nats-jwt-"));
    server = await startNatsServer({ config: operator.serverConfig });
  });
  afterAll(async () => {
    await stopRunning();
    await server?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("connects both with their .creds; the agent's windows reach the collector", async () => {
    const creds = async (user: string) => ["--nats-creds", await operator.writeCreds(dir, user)];
    await agentReachesCollector(server.url, await creds("collector"), await creds("agent"));
  }, 60_000);
});
