/**
 * The HTTP sinks' flags at start-up: what cannot work (a missing file, a headers file's bad line, a certificate
 * without its key, two credentials at once) stops the collector, naming the flag, its env var and the file,
 * never a secret; what can work becomes the sinks' settings.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COLLECTOR_FLAGS } from "../../../cli/collector-command.js";
import { describeConfigIssues } from "../../../cli/flag-table.js";
import { CollectorStartupConfigSchema, httpSinkSettings } from "../../../collector/config.js";
import { CLI } from "../../support/agent-process.js";
import { createPrivateCa, type IssuedCertificate, type PrivateCa } from "../../support/private-ca.js";

/** The message the CLI prints for these flags (config keys), or null when they are valid. */
function problems(input: Record<string, string>): string | null {
  const r = CollectorStartupConfigSchema.safeParse({ natsUrl: "nats://127.0.0.1:4222", ...input });
  return r.success ? null : describeConfigIssues(r.error, COLLECTOR_FLAGS);
}

let dir: string;
let ca: PrivateCa;
let client: IssuedCertificate;
let other: IssuedCertificate;
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "tcpstate-sinks-config-"));
  ca = createPrivateCa();
  client = ca.issue("tcpstate-collector", "extendedKeyUsage=clientAuth");
  other = ca.issue("someone-else", "extendedKeyUsage=clientAuth");
});
afterAll(() => {
  ca?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe("HTTP sink flags at start-up", () => {
  it("a valid set becomes each sink's settings", () => {
    const input = {
      alertmanagerUrl: "https://am.example:9093",
      alertmanagerBearerTokenFile: file("am-token", "tok\n"),
      alertmanagerTlsCaFile: ca.caFile,
      alertmanagerTlsCertFile: client.certFile,
      alertmanagerTlsKeyFile: client.keyFile,
      webhookUrl: "https://hooks.example/x",
      webhookBasicAuthUser: "alice",
      webhookBasicAuthPasswordFile: file("wh-password", "pw\n"),
      webhookHeadersFile: file("wh-headers", "X-Tenant: a\n"),
    };
    expect(problems(input)).toBeNull();
    const config = CollectorStartupConfigSchema.parse({ natsUrl: "nats://127.0.0.1:4222", ...input });
    expect(httpSinkSettings(config, "webhook")).toEqual({
      sink: "webhook",
      url: input.webhookUrl,
      bearerTokenFile: undefined,
      basicAuthUser: "alice",
      basicAuthPasswordFile: input.webhookBasicAuthPasswordFile,
      headersFile: input.webhookHeadersFile,
      tlsCaFile: undefined,
      tlsCertFile: undefined,
      tlsKeyFile: undefined,
    });
    expect(httpSinkSettings(config, "alertmanager")?.tlsKeyFile).toBe(client.keyFile);
  });

  it.each([
    ["alertmanagerBearerTokenFile", "--alertmanager-bearer-token-file (env ALERTMANAGER_BEARER_TOKEN_FILE)"],
    [
      "webhookBasicAuthPasswordFile",
      "--webhook-basic-auth-password-file (env WEBHOOK_BASIC_AUTH_PASSWORD_FILE)",
    ],
    ["webhookHeadersFile", "--webhook-headers-file (env WEBHOOK_HEADERS_FILE)"],
    ["alertmanagerTlsCaFile", "--alertmanager-tls-ca-file (env ALERTMANAGER_TLS_CA_FILE)"],
  ])("a missing %s file names its flag and the path", (key, flag) => {
    const input: Record<string, string> = {
      alertmanagerUrl: "https://am.example",
      webhookUrl: "https://hooks.example",
      [key]: "/nonexistent/secret",
    };
    if (key === "webhookBasicAuthPasswordFile") input.webhookBasicAuthUser = "alice";
    expect(problems(input)).toBe(`invalid ${flag}: cannot read "/nonexistent/secret" (ENOENT)`);
  });

  it("a headers file's bad line names the flag, the file and the line, not the value", () => {
    const headersFile = file("bad-headers", "X-Ok: fine\nX-Api-Key: k3y\rX-Injected: 1\n");
    expect(problems({ webhookUrl: "https://hooks.example", webhookHeadersFile: headersFile })).toBe(
      `invalid --webhook-headers-file (env WEBHOOK_HEADERS_FILE): "${headersFile}" line 2: ` +
        "the value of X-Api-Key holds a CR, LF or other control character",
    );
    const badName = file("bad-name", "\nX Api Key: k3y\n");
    expect(problems({ webhookUrl: "https://hooks.example", webhookHeadersFile: badName })).toMatch(
      new RegExp(
        `^invalid --webhook-headers-file \\(env WEBHOOK_HEADERS_FILE\\): "${badName}" line 2: .*name`,
      ),
    );
  });

  it("a headers file cannot set Authorization beside a token", () => {
    const input = {
      webhookUrl: "https://hooks.example",
      webhookBearerTokenFile: file("tok", "t0ken"),
      webhookHeadersFile: file("auth-headers", "Authorization: Bearer other\n"),
    };
    expect(problems(input)).toContain("line 1: Authorization is also set by --webhook-bearer-token-file");
  });

  it.each([
    [
      "credentials without a URL",
      { webhookBearerTokenFile: "/x" },
      "invalid --webhook-bearer-token-file (env WEBHOOK_BEARER_TOKEN_FILE): needs --webhook-url",
    ],
    [
      "TLS files for http://",
      { webhookUrl: "http://hooks.example", webhookTlsCaFile: "/x" },
      "invalid --webhook-tls-ca-file (env WEBHOOK_TLS_CA_FILE): needs an https:// --webhook-url",
    ],
    [
      "a client certificate without its key",
      { alertmanagerUrl: "https://am.example", alertmanagerTlsCertFile: "/x" },
      "invalid --alertmanager-tls-cert-file (env ALERTMANAGER_TLS_CERT_FILE): needs --alertmanager-tls-key-file too",
    ],
    [
      "a bearer token and basic auth",
      { webhookUrl: "https://u:pw@hooks.example", webhookBearerTokenFile: "/x" },
      "invalid --webhook-bearer-token-file (env WEBHOOK_BEARER_TOKEN_FILE): cannot be combined with basic auth",
    ],
    [
      "a user without a password",
      { webhookUrl: "https://hooks.example", webhookBasicAuthUser: "alice" },
      "invalid --webhook-basic-auth-user (env WEBHOOK_BASIC_AUTH_USER): basic auth needs a password",
    ],
  ])("%s is refused, naming the flag", (_what, input, message) => {
    expect(problems(input)).toContain(message);
  });

  it("a key that is not the certificate's, and a CA file without a certificate, are refused", () => {
    expect(
      problems({
        alertmanagerUrl: "https://am.example",
        alertmanagerTlsCertFile: client.certFile,
        alertmanagerTlsKeyFile: other.keyFile,
      }),
    ).toContain(
      `invalid --alertmanager-tls-key-file (env ALERTMANAGER_TLS_KEY_FILE): "${other.keyFile}" is not the unencrypted PEM key of "${client.certFile}"`,
    );
    expect(problems({ alertmanagerUrl: "https://am.example", alertmanagerTlsCaFile: client.keyFile })).toBe(
      `invalid --alertmanager-tls-ca-file (env ALERTMANAGER_TLS_CA_FILE): "${client.keyFile}" holds no PEM certificate`,
    );
  });

  it("a bad URL is quoted with its password redacted", () => {
    const msg = problems({ alertmanagerUrl: "ftp://bob:hunter22@am.example/" }) ?? "";
    expect(msg).toBe(
      'invalid --alertmanager-url (env ALERTMANAGER_URL): must be an http:// or https:// URL, got "ftp://***@am.example/"',
    );
  });

  it("tcpstate collector exits 2 on a headers file's bad line, naming flag, file and line", async () => {
    const headersFile = file("cli-headers", "X-Ok: 1\nnot a header\n");
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [CLI, "collector", "--nats-url", "nats://127.0.0.1:1", "--listen", "127.0.0.1:0"],
        {
          env: { ...process.env, WEBHOOK_URL: "http://127.0.0.1:1/hook", WEBHOOK_HEADERS_FILE: headersFile },
          timeout: 20_000,
        },
        (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      ),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `invalid --webhook-headers-file (env WEBHOOK_HEADERS_FILE): "${headersFile}" line 2: expected \`Name: value\``,
    );
  });
});
