/**
 * Reading a sink's secret files (token, password, headers, CA, client certificate and key): mounted Secrets,
 * read whole but bounded, and only from regular files (a FIFO or /dev/zero would stall or flood the collector).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

/** A CA bundle is the largest of these files; the system's whole bundle is ~220 KiB. */
export const MAX_SINK_FILE_BYTES = 1024 * 1024;

/** The file's text; throws an Error whose message names the path (never its content). */
export function readSinkFile(path: string): string {
  const where = JSON.stringify(path);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new Error(`cannot read ${where} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${where} is not a regular file`);
    const buf = Buffer.allocUnsafe(MAX_SINK_FILE_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const read = readSync(fd, buf, n, buf.length - n, null);
      if (read === 0) break;
      n += read;
    }
    if (n > MAX_SINK_FILE_BYTES) throw new Error(`${where} is larger than ${MAX_SINK_FILE_BYTES} bytes`);
    return buf.toString("utf8", 0, n);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code ? new Error(`cannot read ${where} (${code})`) : err;
  } finally {
    closeSync(fd);
  }
}

/** A bearer token file → the token: one line of printable ASCII, surrounding whitespace dropped. */
export function parseBearerToken(text: string): string {
  const token = text.trim();
  if (!/^[\x21-\x7e]+$/.test(token))
    throw new Error(token ? "must hold one token: printable ASCII, no spaces" : "is empty");
  return token;
}

/** A password file → the password: its trailing line ending dropped (editors and `echo` add one). */
export function parsePassword(text: string): string {
  const password = text.replace(/[\r\n]+$/, "");
  if (/\p{Cc}/u.test(password)) throw new Error("must hold one line without control characters");
  return password;
}
