/**
 * Where an HTTP sink (Alertmanager, webhook) posts and with which credentials: a bearer token or basic auth
 * (user, password file, or `user:pass@` in the URL), extra headers from a file, a private CA and a client
 * certificate. The files are read again on every send, not watched: Kubernetes rotates a mounted Secret by
 * swapping a symlink, which a watch on the file misses, and sends are few (one per alert transition and one per
 * Alertmanager resend interval), so a handful of small reads each time costs nothing and a rotated token,
 * password or certificate is used from the very next send. The same loading runs at start-up (config.ts), so
 * what would fail the first send stops the collector instead, naming the flag.
 */
import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import { parseHeadersFile } from "./headers-file.js";
import { type PostTarget, postJson } from "./http-post.js";
import { parseBearerToken, parsePassword, readSinkFile } from "./sink-file.js";
import { redactUrl, splitUserinfo } from "./sink-url.js";

export type HttpSinkName = "alertmanager" | "webhook";

/** A sink's options besides its URL; each is the flag `--<sink>-<option in kebab case>`. */
export const HTTP_SINK_CREDENTIAL_OPTIONS = [
  "bearerTokenFile",
  "basicAuthUser",
  "basicAuthPasswordFile",
  "headersFile",
  "tlsCaFile",
  "tlsCertFile",
  "tlsKeyFile",
] as const;
export type HttpSinkOption = "url" | (typeof HTTP_SINK_CREDENTIAL_OPTIONS)[number];

export type HttpSinkSettings = { sink: HttpSinkName; url: string } & {
  [K in (typeof HTTP_SINK_CREDENTIAL_OPTIONS)[number]]?: string | undefined;
};

export type SinkOptionKey<S extends HttpSinkName, O extends HttpSinkOption> = `${S}${Capitalize<O>}`;

/** The config key of a sink's option: ("webhook", "tlsCaFile") → "webhookTlsCaFile". */
export function sinkOptionKey<S extends HttpSinkName, O extends HttpSinkOption>(
  sink: S,
  option: O,
): SinkOptionKey<S, O> {
  return `${sink}${option.charAt(0).toUpperCase()}${option.slice(1)}` as SinkOptionKey<S, O>;
}

/** The flag of a sink's option: ("webhook", "tlsCaFile") → "--webhook-tls-ca-file". */
export function sinkOptionFlag(sink: HttpSinkName, option: HttpSinkOption): string {
  return `--${sink}-${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** A sink option that cannot work; the message says why and names files, never their content. */
export class SinkSettingsError extends Error {
  override readonly name = "SinkSettingsError";
  readonly code = "SINK_SETTINGS_INVALID";
  constructor(
    readonly option: HttpSinkOption,
    message: string,
  ) {
    super(message);
  }
}

/** The URL as it may be logged: userinfo redacted. */
export function sinkLabel(settings: Pick<HttpSinkSettings, "url">): string {
  return redactUrl(settings.url);
}

/**
 * What is wrong in how a sink's options combine (no I/O): credentials without a URL, TLS files for http://,
 * a certificate without its key, two sources for one credential, bearer and basic auth at once.
 */
export function settingsProblems(s: HttpSinkSettings): SinkSettingsError[] {
  const flag = (o: HttpSinkOption) => sinkOptionFlag(s.sink, o);
  const problems: SinkSettingsError[] = [];
  const problem = (option: HttpSinkOption, message: string) =>
    problems.push(new SinkSettingsError(option, message));
  let fromUrl: ReturnType<typeof splitUserinfo>;
  try {
    fromUrl = splitUserinfo(s.url);
  } catch (err) {
    problem("url", `${(err as Error).message}, got ${JSON.stringify(redactUrl(s.url))}`);
    return problems;
  }
  if (!fromUrl.url.startsWith("https:"))
    for (const o of ["tlsCaFile", "tlsCertFile", "tlsKeyFile"] as const)
      if (s[o]) problem(o, `needs an https:// ${flag("url")}`);
  if (s.tlsCertFile && !s.tlsKeyFile) problem("tlsCertFile", `needs ${flag("tlsKeyFile")} too`);
  if (s.tlsKeyFile && !s.tlsCertFile) problem("tlsKeyFile", `needs ${flag("tlsCertFile")} too`);
  if (s.basicAuthUser !== undefined && fromUrl.user !== undefined)
    problem("basicAuthUser", `the URL (${flag("url")}) holds a user too: set it once`);
  if (s.basicAuthPasswordFile && fromUrl.password !== undefined)
    problem("basicAuthPasswordFile", `the URL (${flag("url")}) holds a password too: set it once`);
  const user = s.basicAuthUser ?? fromUrl.user;
  const hasPassword = Boolean(s.basicAuthPasswordFile) || fromUrl.password !== undefined;
  const userOption = s.basicAuthUser !== undefined ? "basicAuthUser" : "url";
  if (user !== undefined && /[:\p{Cc}]/u.test(user))
    problem(userOption, "the basic-auth user must not hold a colon or a control character");
  if (user !== undefined && !hasPassword)
    problem(
      userOption,
      `basic auth needs a password: ${flag("basicAuthPasswordFile")} or user:password@ in the URL`,
    );
  if (user === undefined && hasPassword)
    problem(
      s.basicAuthPasswordFile ? "basicAuthPasswordFile" : "url",
      `basic auth needs a user: ${flag("basicAuthUser")} or user:password@ in the URL`,
    );
  if (s.bearerTokenFile && (user !== undefined || hasPassword))
    problem(
      "bearerTokenFile",
      `cannot be combined with basic auth (${flag("basicAuthUser")} or userinfo in the URL)`,
    );
  return problems;
}

/**
 * Reads the sink's files and builds the request: the URL without userinfo, the headers (Authorization and the
 * headers file), the TLS material. Throws the first SinkSettingsError.
 */
export function loadPostTarget(s: HttpSinkSettings): PostTarget {
  const [first] = settingsProblems(s);
  if (first) throw first;
  const file = <T>(option: FileOption, parse: (text: string) => T): T => {
    const path = s[option] as string;
    let text: string;
    try {
      text = readSinkFile(path);
    } catch (err) {
      throw new SinkSettingsError(option, (err as Error).message);
    }
    try {
      return parse(text);
    } catch (err) {
      throw new SinkSettingsError(option, `${JSON.stringify(path)} ${(err as Error).message}`);
    }
  };
  const { url, user: urlUser, password: urlPassword } = splitUserinfo(s.url);
  const headers: Record<string, string> = {};
  const secrets: string[] = [];
  if (s.headersFile) {
    const extra = file("headersFile", parseHeadersFile);
    const auth = extra.get("authorization");
    const authOption = s.bearerTokenFile ? "bearerTokenFile" : s.basicAuthUser ? "basicAuthUser" : "url";
    if (auth && (s.bearerTokenFile || s.basicAuthUser !== undefined || urlUser !== undefined))
      throw new SinkSettingsError(
        "headersFile",
        `${JSON.stringify(s.headersFile)} line ${auth.line}: Authorization is also set by ${sinkOptionFlag(s.sink, authOption)}`,
      );
    for (const h of extra.values()) {
      headers[h.name] = h.value;
      secrets.push(h.value);
    }
  }
  if (s.bearerTokenFile) {
    const token = file("bearerTokenFile", parseBearerToken);
    headers.authorization = `Bearer ${token}`;
    secrets.push(token);
  }
  const user = s.basicAuthUser ?? urlUser;
  if (user !== undefined) {
    const password = s.basicAuthPasswordFile
      ? file("basicAuthPasswordFile", parsePassword)
      : (urlPassword ?? "");
    const encoded = Buffer.from(`${user}:${password}`, "utf8").toString("base64");
    headers.authorization = `Basic ${encoded}`;
    secrets.push(password, encoded);
  }
  const tls: PostTarget["tls"] = {};
  if (s.tlsCaFile) tls.ca = file("tlsCaFile", checkCaBundle);
  if (s.tlsCertFile && s.tlsKeyFile) {
    const cert = file("tlsCertFile", checkCertificate);
    tls.cert = cert;
    tls.key = file("tlsKeyFile", (key) => checkKey(cert, key, s.tlsCertFile as string));
  }
  return { url, headers, tls, secrets };
}

type FileOption = Exclude<(typeof HTTP_SINK_CREDENTIAL_OPTIONS)[number], "basicAuthUser">;

/** A CA bundle: at least one PEM certificate, each of which parses (Node would silently trust nothing). */
function checkCaBundle(text: string): string {
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new Error("holds no PEM certificate");
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw new Error(`holds a certificate that does not parse: ${(err as Error).message}`);
    }
  }
  return text;
}

function checkCertificate(text: string): string {
  try {
    createSecureContext({ cert: text });
  } catch (err) {
    throw new Error(`is not a PEM certificate: ${(err as Error).message}`);
  }
  return text;
}

/** The key parses, is not encrypted, and belongs to the certificate (OpenSSL's messages hold no key material). */
function checkKey(cert: string, key: string, certPath: string): string {
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(
      `is not the unencrypted PEM key of ${JSON.stringify(certPath)}: ${(err as Error).message}`,
    );
  }
  return key;
}

/** One POST to the sink with its files read anew; a file that went bad fails this send (retried), naming its flag. */
export async function postToSink(
  s: HttpSinkSettings,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<void> {
  let target: PostTarget;
  try {
    target = loadPostTarget(s);
  } catch (err) {
    if (err instanceof SinkSettingsError)
      throw new Error(`${sinkOptionFlag(s.sink, err.option)}: ${err.message}`, { cause: err });
    throw err;
  }
  await postJson(target, body, headers);
}
