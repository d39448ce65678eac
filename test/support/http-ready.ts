/** Waiting for a server the tests started to answer: GET until 200, failing early when its process died. */
import type { ChildProcess } from "node:child_process";

/**
 * Polls GET `url` until 200; fails naming the last answer. With `proc`, fails at once when that process has
 * exited, and either failure shows its log.
 */
export async function waitHttpOk(
  url: string,
  timeoutMs: number,
  proc?: { child: ChildProcess; log: () => string },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const log = () => (proc ? `\n${proc.log().slice(-2000)}` : "");
  let last = "no answer";
  while (Date.now() < deadline) {
    if (proc && proc.child.exitCode !== null)
      throw new Error(`${url}: its process exited (${proc.child.exitCode})${log()}`);
    const res = await fetch(url).catch((err: Error) => err);
    if (!(res instanceof Error)) {
      if (res.status === 200) return;
      last = `${res.status} ${await res.text()}`;
    } else last = res.message;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not 200 within ${timeoutMs} ms: ${last}${log()}`);
}
