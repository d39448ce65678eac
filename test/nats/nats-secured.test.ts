/**
 * A production NATS: TLS with its own CA, client certificates required (mTLS), and NKey users. Agent and
 * collector connect with the --nats-tls-* and --nats-nkey flags, and the agent's windows reach the collector;
 * an untrusted server certificate or an unknown NKey keeps them unready, saying why.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createUser } from "@nats-io/nkeys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, startAgent, waitReady } from "../support/agent-process.js";
import { startCollector } from "../support/collector-process.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";

/** A CA and, signed by it, a certificate for `name` (server: for 127.0.0.1; client: for client auth). */
function issue(dir: string, name: string, ext: string): void {
  const file = (suffix: string) => path.join(dir, `${name}${suffix}`);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  execFileSync("openssl", [
    "req",
    ...ec,
    "-keyout",
    file("-key.pem"),
    "-out",
    file(".csr"),
    "-subj",
    `/CN=${name}`,
  ]);
  execFileSync("sh", ["-c", `printf '%s\\n' "${ext}" > ${file(".ext")}`]);
  execFileSync("openssl", [
    ...["x509", "-req", "-in", file(".csr"), "-days", "1", "-out", file(".pem")],
    ...["-CA", path.join(dir, "ca.pem"), "-CAkey", path.join(dir, "ca-key.pem"), "-CAcreateserial"],
    ...["-extfile", file(".ext")],
  ]);
}

describe("agent and collector on a NATS with TLS (own CA, client certificates) and NKey users", () => {
  let dir: string;
  let server: NatsServer;
  const seeds: Record<"agent" | "collector" | "stranger", string> = {
    agent: "",
    collector: "",
    stranger: "",
  };
  const running: { stop(): Promise<number | null> }[] = [];

  /** One side's NATS secrets: its NKey seed, the client certificate, and (unless told not to) trust in the CA. */
  const secrets = (who: keyof typeof seeds, trustCa = true) => [
    ...["--nats-nkey", seeds[who], ...(trustCa ? ["--nats-tls-ca", path.join(dir, "ca.pem")] : [])],
    ...["--nats-tls-cert", path.join(dir, "client.pem"), "--nats-tls-key", path.join(dir, "client-key.pem")],
  ];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-nats-tls-"));
    execFileSync("openssl", [
      ...[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
      ],
      ...[
        "-keyout",
        path.join(dir, "ca-key.pem"),
        "-out",
        path.join(dir, "ca.pem"),
        "-subj",
        "/CN=tcpstate test CA",
      ],
    ]);
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
    for (const r of running) await r.stop();
    await server?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("connects both with TLS and their NKeys; the agent's windows reach the collector", async () => {
    expect(server.url).toMatch(/^tls:\/\//);
    const collector = await startCollector(server.url, secrets("collector"));
    running.push(collector);
    await collector.waitReady();
    const agent: AgentProcess = await startAgent([
      ...["--standalone", "--node-name", "secure-node", "--interval", "1s"],
      ...["--nats-url", server.url, ...secrets("agent")],
    ]);
    running.push(agent);
    await waitReady(agent);
    const nodes = async () =>
      ((await collector.get("/api/v1/nodes")).json() as { nodes: { node: string }[] }).nodes.map(
        (n) => n.node,
      );
    await expect.poll(nodes, { timeout: 15_000 }).toContain("secure-node");
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
