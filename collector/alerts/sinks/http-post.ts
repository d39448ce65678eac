/** One JSON POST with a timeout: 2xx is success, 408/429/5xx and network errors are worth a retry, other 4xx not. */
import { PermanentDeliveryError } from "./delivery-queue.js";

const TIMEOUT_MS = 10_000;

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text().catch(() => "");
  if (res.ok) return;
  const message = `POST ${url}: HTTP ${res.status} ${text.slice(0, 200).trim()}`;
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
    throw new PermanentDeliveryError(message);
  throw new Error(message);
}
