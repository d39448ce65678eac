import { readFileSync } from "node:fs";
import type { AgentConfig } from "../config.js";
import type { NatsAuth } from "../wire/nats-connection.js";

/** A config value that is well-formed but unusable (an unreadable secret file): start-up stops, exit code 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

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
export function natsAuthFromConfig(c: AgentConfig): NatsAuth {
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
