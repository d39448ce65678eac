import { readFileSync } from "node:fs";
import { type ConnectionOptions, credsAuthenticator, nkeyAuthenticator } from "@nats-io/transport-node";
import { z } from "zod";
import { ConfigError } from "../../common/config-values.js";

export interface NatsAuth {
  user?: string;
  password?: string;
  token?: string;
  /** A .creds file (JWT + NKey seed), as `nsc` writes it. */
  credsFile?: string;
  /** A file holding an NKey seed (SU…). */
  nkeySeedFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/** NATS connection options from tcpstate's flags (agent and collector alike). */
export function natsConnectionOptions(servers: string[], auth: NatsAuth, name: string): ConnectionOptions {
  const opts: ConnectionOptions = {
    servers,
    name,
    // Once connected, never give up: the agent buffers while NATS is away and delivers when it is back.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 2000,
    // Not waitOnFirstConnect: it retries in silence, so a refused connection, a certificate that does not
    // verify or an unknown NKey would never be said. The first connection is retried by its callers, who log why.
    waitOnFirstConnect: false,
  };
  if (auth.user !== undefined) opts.user = auth.user;
  if (auth.password !== undefined) opts.pass = auth.password;
  if (auth.token !== undefined) opts.token = auth.token;
  if (auth.credsFile) opts.authenticator = credsAuthenticator(readFileSync(auth.credsFile));
  else if (auth.nkeySeedFile)
    opts.authenticator = nkeyAuthenticator(
      new TextEncoder().encode(readFileSync(auth.nkeySeedFile, "utf8").trim()),
    );
  if (auth.tls) {
    opts.tls = {
      ...(auth.tls.caFile ? { caFile: auth.tls.caFile } : {}),
      ...(auth.tls.certFile ? { certFile: auth.tls.certFile } : {}),
      ...(auth.tls.keyFile ? { keyFile: auth.tls.keyFile } : {}),
    };
  }
  return opts;
}

const secretPath = z.string().min(1, "must not be empty");

/** The NATS flags agent and collector share (config keys; the CLI maps them to --nats-* flags and env). */
export const NATS_CONFIG_SHAPE = {
  natsUrl: z
    .string()
    .transform((text) =>
      text
        .split(",")
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(
          z
            .string()
            .regex(/^(nats|tls|wss?):\/\/[^\s]+$/, "must be nats://host:port (or tls://, ws://, wss://)"),
        )
        .min(1),
    )
    .optional(),
  natsUser: z.string().optional(),
  natsPassword: z.string().optional(),
  natsPasswordFile: secretPath.optional(),
  natsToken: z.string().optional(),
  natsTokenFile: secretPath.optional(),
  natsCreds: secretPath.optional(),
  natsNkey: secretPath.optional(),
  natsTlsCa: secretPath.optional(),
  natsTlsCert: secretPath.optional(),
  natsTlsKey: secretPath.optional(),
};

const NatsConfigSchema = z.object(NATS_CONFIG_SHAPE);
export type NatsConfig = z.output<typeof NatsConfigSchema>;

function readSecret(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new ConfigError(`invalid ${flag}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function readable(flag: string, path: string | undefined): string | undefined {
  if (path !== undefined) readSecret(flag, path);
  return path;
}

/** NATS credentials from flags, env or secret files (files win: they are how Kubernetes Secrets arrive). */
export function natsAuthFromConfig(c: NatsConfig): NatsAuth {
  const auth: NatsAuth = {};
  if (c.natsUser !== undefined) auth.user = c.natsUser;
  const password = c.natsPasswordFile
    ? readSecret("--nats-password-file", c.natsPasswordFile)
    : c.natsPassword;
  if (password !== undefined) auth.password = password;
  const token = c.natsTokenFile ? readSecret("--nats-token-file", c.natsTokenFile) : c.natsToken;
  if (token !== undefined) auth.token = token;
  const creds = readable("--nats-creds", c.natsCreds);
  if (creds) auth.credsFile = creds;
  const nkey = readable("--nats-nkey", c.natsNkey);
  if (nkey) auth.nkeySeedFile = nkey;
  const tls = {
    caFile: readable("--nats-tls-ca", c.natsTlsCa),
    certFile: readable("--nats-tls-cert", c.natsTlsCert),
    keyFile: readable("--nats-tls-key", c.natsTlsKey),
  };
  if (tls.caFile || tls.certFile || tls.keyFile)
    auth.tls = Object.fromEntries(Object.entries(tls).filter(([, v]) => v)) as NatsAuth["tls"] & object;
  return auth;
}
