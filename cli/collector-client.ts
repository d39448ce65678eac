/** How the CLI talks to the collector's HTTP API, and what it says when it cannot. */
import { escapeForTerminal } from "../render/terminal-text.js";
import { UsageError } from "./usage-error.js";

export const DEFAULT_SERVER = "http://127.0.0.1:8080";
export const SERVER_HELP =
  "collector URL (env TCPSTATE_SERVER); from a workstation: kubectl -n tcpstate port-forward svc/tcpstate-collector 8080:8080";
const REACH =
  "is the collector running and reachable? From a workstation: kubectl -n tcpstate port-forward svc/tcpstate-collector 8080:8080, then --server http://127.0.0.1:8080";

/** The collector failed or could not be reached: exit code 1. */
export class ServerError extends Error {
  override readonly name = "ServerError";
  readonly exitCode = 1;
}

export function serverUrl(flag: string | undefined): string {
  const url = flag ?? process.env.TCPSTATE_SERVER ?? DEFAULT_SERVER;
  try {
    return new URL(url).toString().replace(/\/$/, "");
  } catch {
    throw new UsageError(`invalid --server "${url}": expected a URL like ${DEFAULT_SERVER}`);
  }
}

async function request(server: string, path: string, signal?: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(`${server}${path}`, { signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ServerError(
      `cannot reach the collector at ${server} (${cause?.code ?? cause?.message ?? err}); ${REACH}`,
    );
  }
  if (res.ok) return res;
  const body = (await res.json().catch(() => null)) as { error?: unknown } | null;
  // Quoted to the user: one escaped line, whatever the server put in it.
  const message = escapeForTerminal(String(body?.error ?? `${res.status} ${res.statusText}`));
  // A 400 names the parameter the user got wrong: a usage error, like a bad flag.
  if (res.status === 400) throw new UsageError(message);
  throw new ServerError(`the collector at ${server} answered ${res.status}: ${message}`);
}

export async function getJson<T>(server: string, path: string): Promise<T> {
  return (await (await request(server, path)).json()) as T;
}

/** The lines of a streamed (NDJSON) response, until the server ends it or `signal` aborts. */
export async function* streamLines(
  server: string,
  path: string,
  signal: AbortSignal,
): AsyncGenerator<string> {
  const res = await request(server, path, signal);
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffered = "";
  try {
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line) yield line;
        nl = buffered.indexOf("\n");
      }
    }
  } catch (err) {
    if (!signal.aborted)
      throw new ServerError(`the live stream from ${server} broke: ${(err as Error).message}`);
  }
}
