import { readFileSync } from "node:fs";
import { type ConnectionOptions, credsAuthenticator, nkeyAuthenticator } from "@nats-io/transport-node";

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
    // Never give up: the agent buffers while NATS is away and delivers when it is back.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 2000,
    waitOnFirstConnect: true,
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
