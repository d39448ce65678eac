/**
 * The Alertmanager and webhook sinks' credentials and transport against real HTTP and HTTPS receivers on
 * 127.0.0.1: a bearer token (rotated as Kubernetes rotates a Secret), basic auth from the URL's userinfo (and
 * never in a log line), extra headers, a private CA, mutual TLS, a redirect not followed, a huge answer not read.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALERT_SCHEMA, type AlertEvent, eventId } from "../../../collector/alerts/alert-event.js";
import { AlertmanagerSink } from "../../../collector/alerts/sinks/alertmanager-sink.js";
import { HeadersFileError, parseHeadersFile } from "../../../collector/alerts/sinks/headers-file.js";
import { classifyStatus, MAX_RESPONSE_BYTES } from "../../../collector/alerts/sinks/http-post.js";
import { postToSink } from "../../../collector/alerts/sinks/http-sink-target.js";
import { redactUrl, splitUserinfo } from "../../../collector/alerts/sinks/sink-url.js";
import { webhookSink } from "../../../collector/alerts/sinks/webhook-sink.js";
import { createPrivateCa, type IssuedCertificate, type PrivateCa } from "../../support/private-ca.js";
import { type Receiver, startReceiver } from "./http-receiver.js";

const silent = pino({ level: "silent" });

function event(pod: string): AlertEvent {
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  return {
    schema: ALERT_SCHEMA,
    status: "firing",
    fingerprint: `fp-${pod}`,
    labels: { alertname: "TimeWaitBuildup", severity: "warning", namespace: "shop", pod },
    annotations: { summary: `TIME_WAIT on ${pod}` },
    startsAt,
    firedAt: startsAt,
    endsAt: null,
    value: 3000,
  };
}

/** A pino logger at trace level whose every line is kept. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = pino({ level: "trace" }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

let dir: string;
const receivers: Receiver[] = [];
async function receiver(opts: Parameters<typeof startReceiver>[0] = {}): Promise<Receiver> {
  const r = await startReceiver(opts);
  receivers.push(r);
  return r;
}
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "tcpstate-sinks-http-"));
});
afterAll(async () => {
  for (const r of receivers.splice(0)) await r.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("HTTP sinks: credentials (real HTTP receiver)", () => {
  it("a bearer token file arrives as Authorization: Bearer; after a Secret rotation the new token is sent", async () => {
    // A mounted Secret as the kubelet lays it out: token → ..data/token, ..data → a timestamped dir, swapped
    // atomically on rotation.
    const secret = path.join(dir, "secret");
    mkdirSync(path.join(secret, "..v1"), { recursive: true });
    writeFileSync(path.join(secret, "..v1", "token"), "first-token\n");
    symlinkSync("..v1", path.join(secret, "..data"));
    symlinkSync("..data/token", path.join(secret, "token"));
    const r = await receiver();
    const sink = webhookSink(
      { sink: "webhook", url: `${r.origin}/hook`, bearerTokenFile: path.join(secret, "token") },
      silent,
    );
    try {
      sink.push(event("a"));
      await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(1);
      expect(r.received[0]?.headers.authorization).toBe("Bearer first-token");

      mkdirSync(path.join(secret, "..v2"));
      writeFileSync(path.join(secret, "..v2", "token"), "second-token\n");
      symlinkSync("..v2", path.join(secret, "..data_tmp"));
      renameSync(path.join(secret, "..data_tmp"), path.join(secret, "..data"));
      sink.push(event("b"));
      await expect.poll(() => r.received.length, { timeout: 10_000 }).toBe(2);
      expect(r.received[1]?.headers.authorization).toBe("Bearer second-token");
      expect(JSON.parse(r.received[1]?.body ?? "").labels.pod).toBe("b");
    } finally {
      await sink.close();
    }
  });

  it("user:pass@ in the URL arrives as basic auth and leaves the URL; no log line holds the password", async () => {
    const password = "s3cret-pa@ss";
    const basic = `Basic ${Buffer.from(`alice:${password}`).toString("base64")}`;
    let failFirst = 2;
    // The first answers fail, echoing the Authorization header as a careless receiver might: a failure is
    // logged with the URL and the answer.
    const r = await receiver({
      respond: (req, res) => {
        if (failFirst-- > 0) res.writeHead(503).end(`busy; you sent ${req.headers.authorization}`);
        else res.writeHead(204).end();
      },
    });
    const url = `http://alice:${encodeURIComponent(password)}@${r.origin.slice("http://".length)}`;
    const { logger, lines } = capturedLogger();
    const alertmanager = new AlertmanagerSink({
      target: { sink: "alertmanager", url },
      resendIntervalMs: 60_000,
      logger,
      alerts: () => ({ firing: [event("a")], resolved: [] }),
    });
    const webhook = webhookSink({ sink: "webhook", url: `${url}/hook` }, logger);
    try {
      alertmanager.start();
      webhook.push(event("b"));
      await expect.poll(() => alertmanager.sent + webhook.sent, { timeout: 15_000 }).toBe(2);
    } finally {
      await alertmanager.close();
      await webhook.close();
    }
    const delivered = r.received.slice(2);
    expect(delivered.map((q) => q.url).sort()).toEqual(["/api/v2/alerts", "/hook"]);
    for (const q of r.received) expect(q.headers.authorization).toBe(basic);

    expect(lines.filter((l) => l.includes('"err"'))).toHaveLength(2); // one failure logged per sink
    expect(lines.some((l) => l.includes("http://***@127.0.0.1:"))).toBe(true);
    for (const secret of [password, encodeURIComponent(password), basic.slice("Basic ".length)])
      for (const line of lines) expect(line).not.toContain(secret);
  });

  it("the headers file's headers arrive, beside the ones the sink sets", async () => {
    const r = await receiver();
    const headersFile = file("headers", "# tenant routing\nX-Api-Key: k-123\r\n\nX-Tenant:  team-a \n");
    const e = event("a");
    await postToSink({ sink: "webhook", url: `${r.origin}/hook`, headersFile }, e, {
      "idempotency-key": eventId(e),
    });
    const headers = r.received[0]?.headers;
    expect(headers?.["x-api-key"]).toBe("k-123");
    expect(headers?.["x-tenant"]).toBe("team-a");
    expect(headers?.["idempotency-key"]).toBe(eventId(e));
    expect(headers?.["content-type"]).toBe("application/json");
  });
});

describe("HTTP sinks: transport (real HTTP receiver)", () => {
  it("a 302 is not followed: the redirect's target receives nothing, and the failure names it", async () => {
    const target = await receiver();
    const redirecting = await receiver({
      respond: (_req, res) => res.writeHead(302, { location: `${target.origin}/elsewhere` }).end(),
    });
    const tokenFile = file("redirect-token", "tok-redirect");
    const send = postToSink(
      { sink: "webhook", url: `${redirecting.origin}/hook`, bearerTokenFile: tokenFile },
      event("a"),
    );
    await expect(send).rejects.toThrow(
      `POST ${redirecting.origin}/hook: HTTP 302, a redirect to ${target.origin}/elsewhere: not followed`,
    );
    expect(redirecting.received).toHaveLength(1);
    expect(target.received).toEqual([]);
  });

  it("a huge answer is not read: the sink stops at 64 KiB and closes, the receiver cannot send it all", async () => {
    const TOTAL = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, "x");
    let handed = 0;
    let closed!: Promise<boolean>;
    const r = await receiver({
      respond: (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain", "content-length": String(TOTAL) });
        closed = new Promise((resolve) => res.on("close", () => resolve(res.writableFinished)));
        // Written as fast as the client reads (backpressure): what it never reads is never handed over.
        const pump = () => {
          while (handed < TOTAL && !res.destroyed) {
            handed += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          if (handed >= TOTAL) res.end();
        };
        pump();
      },
    });
    await postToSink({ sink: "webhook", url: `${r.origin}/hook` }, event("a"));
    expect(await closed).toBe(false); // the connection closed before the answer was complete
    // Socket buffers hold a few MB at most (tcp_rmem + tcp_wmem maxima: 36 MB), far from all of it.
    expect(handed).toBeLessThan(TOTAL);
    expect(MAX_RESPONSE_BYTES).toBe(64 * 1024);
  });
});

describe("HTTP sinks: TLS (real HTTPS receiver, a private CA made with openssl)", () => {
  let ca: PrivateCa;
  let server: IssuedCertificate;
  let client: IssuedCertificate;
  beforeAll(() => {
    ca = createPrivateCa();
    server = ca.issue("receiver", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    client = ca.issue("tcpstate-collector", "extendedKeyUsage=clientAuth");
  });
  afterAll(() => ca?.destroy());

  const tls = (extra: object = {}) => ({
    cert: readFileSync(server.certFile, "utf8"),
    key: readFileSync(server.keyFile, "utf8"),
    ...extra,
  });

  it("trusts the server with the CA file; without it the certificate does not verify and nothing is sent", async () => {
    const r = await receiver({ tls: tls() });
    await postToSink({ sink: "webhook", url: `${r.origin}/hook`, tlsCaFile: ca.caFile }, event("a"));
    expect(r.received).toHaveLength(1);
    await expect(postToSink({ sink: "webhook", url: `${r.origin}/hook` }, event("b"))).rejects.toThrow(
      /certificate/,
    );
    expect(r.received).toHaveLength(1);
  });

  it("mutual TLS: a receiver that requires a client certificate gets the configured one", async () => {
    const r = await receiver({
      tls: tls({ ca: readFileSync(ca.caFile, "utf8"), requestCert: true, rejectUnauthorized: true }),
    });
    const url = `${r.origin}/hook`;
    await postToSink(
      {
        sink: "webhook",
        url,
        tlsCaFile: ca.caFile,
        tlsCertFile: client.certFile,
        tlsKeyFile: client.keyFile,
      },
      event("a"),
    );
    expect(r.received.map((q) => q.clientCertCn)).toEqual(["tcpstate-collector"]);
    await expect(postToSink({ sink: "webhook", url, tlsCaFile: ca.caFile }, event("b"))).rejects.toThrow();
    expect(r.received).toHaveLength(1);
  });
});

describe("HTTP sinks: headers file, URL redaction, status classes (pure)", () => {
  it("reads Name: value lines, skipping blanks and comments; a CRLF ending is a line ending", () => {
    const h = parseHeadersFile("# c\r\n\nX-A: 1\r\nx-b:two words \n");
    expect([...h.values()].map((e) => [e.name, e.value, e.line])).toEqual([
      ["X-A", "1", 3],
      ["x-b", "two words", 4],
    ]);
  });

  it.each([
    ["X-A: a\rb\n", 1, "control character", "a\rb"],
    ["X-A: ok\nX-B: s3cr\u0000et\n", 2, "control character", "s3cr"],
    ["X-A: ok\n\nBad Name: v4lue\n", 3, "name", "v4lue"],
    ["Authorization Bearer t0ken\n", 1, "Name: value", "t0ken"],
    [": n0name\n", 1, "name", "n0name"],
    ["Content-Type: text/plain\n", 1, "set by tcpstate", "text/plain"],
    ["Idempotency-Key: k3y\n", 1, "set by tcpstate", "k3y"],
    ["X-A: 1\nx-a: tw0\n", 2, "already set on line 1", "tw0"],
  ])("refuses %j at line %d (%s), without quoting the value", (text, line, reason, value) => {
    let err: unknown;
    try {
      parseHeadersFile(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeadersFileError);
    expect((err as HeadersFileError).line).toBe(line);
    expect((err as Error).message).toContain(reason);
    expect((err as Error).message).not.toContain(value);
  });

  it.each([
    ["https://alice:pw@am.example:9093/x?y=1", "https://***@am.example:9093/x?y=1"],
    ["https://token@am.example/", "https://***@am.example/"],
    ["https://am.example/path@v1", "https://am.example/path@v1"],
    ["https://u:pa/ss@host/", "https://***@host/"], // not a URL: redacted up to the last @
    ["alice:pw@host:9093", "***@host:9093"], // no scheme: parses as scheme alice:
    ["ftp://bob:hunter22@host/", "ftp://***@host/"],
  ])("redacts %j to %j", (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });

  it("splits userinfo off a URL, percent-decoded", () => {
    expect(splitUserinfo("http://a%40b:p%3Aw@h:1/x")).toEqual({
      url: "http://h:1/x",
      user: "a@b",
      password: "p:w",
    });
  });

  it.each([
    [200, "ok"],
    [204, "ok"],
    [301, "redirect"],
    [302, "redirect"],
    [308, "redirect"],
    [400, "reject"],
    [401, "reject"],
    [404, "reject"],
    [408, "retry"],
    [429, "retry"],
    [500, "retry"],
    [503, "retry"],
  ])("HTTP %d is %s", (status, cls) => {
    expect(classifyStatus(status)).toBe(cls);
  });
});
