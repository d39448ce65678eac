/**
 * NATS decentralized auth for tests, as `nsc` would set it up: an operator, a system account, an account with
 * JetStream, and users' .creds files (JWT + NKey seed). JWTs are signed with the issuer's NKey (ed25519).
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createAccount, createOperator, createUser, type KeyPair } from "@nats-io/nkeys";

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64url");
const utf8 = new TextEncoder();

function jwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }));
  const claims = {
    jti: "",
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats: { ...nats, version: 2 },
  };
  const payload = b64url(JSON.stringify(claims));
  return `${header}.${payload}.${b64url(issuer.sign(utf8.encode(`${header}.${payload}`)))}`;
}

const UNLIMITED = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};
const UNLIMITED_JETSTREAM = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };

export interface NatsOperator {
  /** nats-server configuration: the operator, its system account, the accounts preloaded in memory. */
  serverConfig: string;
  /** Writes a .creds file for a new user of the account into `dir`; returns its path. */
  writeCreds(dir: string, user: string): Promise<string>;
}

export function natsOperator(): NatsOperator {
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const accounts = [
    [
      system.getPublicKey(),
      jwt(operator, system.getPublicKey(), "SYS", { type: "account", limits: UNLIMITED }),
    ],
    [
      account.getPublicKey(),
      jwt(operator, account.getPublicKey(), "tcpstate", {
        type: "account",
        limits: { ...UNLIMITED, ...UNLIMITED_JETSTREAM },
      }),
    ],
  ];
  const operatorJwt = jwt(operator, operator.getPublicKey(), "test", {
    type: "operator",
    system_account: system.getPublicKey(),
  });
  return {
    serverConfig: [
      `operator: ${operatorJwt}`,
      `system_account: ${system.getPublicKey()}`,
      "resolver: MEMORY",
      `resolver_preload: { ${accounts.map(([pub, token]) => `${pub}: ${token}`).join(", ")} }`,
    ].join("\n"),
    async writeCreds(dir, name) {
      const user = createUser();
      const token = jwt(account, user.getPublicKey(), name, {
        type: "user",
        pub: {},
        sub: {},
        subs: -1,
        data: -1,
        payload: -1,
      });
      const seed = new TextDecoder().decode(user.getSeed());
      const file = path.join(dir, `${name}.creds`);
      const creds = [
        "-----BEGIN NATS USER JWT-----",
        token,
        "------END NATS USER JWT------",
        "",
        "-----BEGIN USER NKEY SEED-----",
        seed,
        "------END USER NKEY SEED------",
        "",
      ].join("\n");
      await writeFile(file, creds, { mode: 0o600 });
      return file;
    },
  };
}
