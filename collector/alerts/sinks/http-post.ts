/**
 * One JSON POST over node:http / node:https (fetch cannot take a private CA or a client certificate without
 * undici's dispatcher). 2xx is success; 408, 429, 5xx, network errors and the timeout are worth a retry; other
 * 4xx are not (PermanentDeliveryError). A 3xx is a failure that is not followed: a redirect would carry the
 * alert, and its Authorization header, to a host nobody configured; the message names where it pointed, and it
 * is retried, so alerts wait in the bounded queue until the URL is fixed. The answer is read up to
 * MAX_RESPONSE_BYTES and the connection closed on the rest. Messages hold the URL without userinfo and never a
 * credential: any secret echoed back by the receiver is masked.
 */
import http from "node:http";
import https from "node:https";
import { PermanentDeliveryError } from "./delivery-queue.js";
import { redactUrl } from "./sink-url.js";

const TIMEOUT_MS = 10_000;
/** Enough for any error a receiver explains itself with; what a receiver sends beyond it is not read. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** How much of an answer an error message quotes. */
const QUOTED_CHARS = 200;

/** A POST's destination, credentials resolved (http-sink-target.ts). */
export interface PostTarget {
  /** Without userinfo. */
  url: string;
  headers: Record<string, string>;
  /** PEM texts: `ca` replaces the default roots (as Prometheus' ca_file does); cert and key are for mTLS. */
  tls: { ca?: string; cert?: string; key?: string };
  /** Values masked in every message (token, password, header values). */
  secrets: readonly string[];
}

export type StatusClass = "ok" | "redirect" | "retry" | "reject";

export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return "ok";
  if (status >= 300 && status < 400) return "redirect";
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return "reject";
  return "retry";
}

/** `text` with each secret (3 characters or more: shorter ones would mangle the message) replaced by ***. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join("***");
  return out;
}

/** Quotable: control characters (terminal escapes among them) become spaces, the length is capped. */
function quotable(text: string, secrets: readonly string[]): string {
  return maskSecrets(text, secrets)
    .replace(/\p{Cc}+/gu, " ")
    .slice(0, QUOTED_CHARS)
    .trim();
}

interface Answer {
  status: number;
  location: string | undefined;
  body: string;
}

export async function postJson(
  target: PostTarget,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<void> {
  const where = `POST ${redactUrl(target.url)}`;
  let answer: Answer;
  try {
    answer = await send(target, Buffer.from(JSON.stringify(body)), headers);
  } catch (err) {
    throw new Error(`${where}: ${quotable((err as Error).message, target.secrets)}`);
  }
  const { status } = answer;
  const cls = classifyStatus(status);
  if (cls === "ok") return;
  if (cls === "redirect") {
    const to =
      answer.location === undefined ? "nowhere" : quotable(redactUrl(answer.location), target.secrets);
    throw new Error(`${where}: HTTP ${status}, a redirect to ${to}: not followed (set the URL it points to)`);
  }
  const message = `${where}: HTTP ${status} ${quotable(answer.body, target.secrets)}`.trim();
  if (cls === "reject") throw new PermanentDeliveryError(message);
  throw new Error(message);
}

/** The POST itself: resolves with the status and at most MAX_RESPONSE_BYTES of the body. */
function send(target: PostTarget, payload: Buffer, extra: Record<string, string>): Promise<Answer> {
  const url = new URL(target.url);
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const options: https.RequestOptions = {
    method: "POST",
    signal,
    headers: {
      ...target.headers,
      ...extra,
      "content-type": "application/json",
      "content-length": String(payload.length),
    },
  };
  const request =
    url.protocol === "https:"
      ? https.request(url, { ...options, ...target.tls })
      : http.request(url, options);
  return new Promise<Answer>((resolve, reject) => {
    const fail = (err: Error) =>
      reject(signal.aborted ? new Error(`no answer within ${TIMEOUT_MS / 1000}s`) : err);
    request.on("error", fail);
    request.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () =>
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location,
          body: Buffer.concat(chunks).toString("utf8"),
        });
      res.on("data", (chunk: Buffer) => {
        if (size >= MAX_RESPONSE_BYTES) return;
        chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
        size += Math.min(chunk.length, MAX_RESPONSE_BYTES - size);
        if (size >= MAX_RESPONSE_BYTES) {
          // The rest is not wanted: closing the connection stops the receiver sending it.
          res.destroy();
          done();
        }
      });
      res.on("end", done);
      // An answer cut short (by us, the receiver or the timeout) still has its status.
      res.on("close", done);
      res.on("error", () => {});
    });
    request.end(payload);
  });
}
