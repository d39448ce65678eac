/**
 * A sink's extra headers file: one `Name: value` per line (a mounted Secret, e.g. an API key header). Blank lines
 * and `#` comments are skipped; a CRLF line ending is a line ending. Everything else is checked, because a value
 * reaching the request line by line is how header injection happens: a name must be an RFC 9110 token, a value
 * holds no CR, LF or other control character, a name appears once, and the headers tcpstate sets itself (framing,
 * content type, idempotency key) cannot be overridden. Errors name the line, never a value (values are secrets).
 */

export class HeadersFileError extends Error {
  override readonly name = "HeadersFileError";
  readonly code = "HEADERS_FILE_INVALID";
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** A header tcpstate sends itself, or one that would change the request's framing or target. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  "content-type",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "te",
  "trailer",
  "expect",
  "idempotency-key",
]);

/** Headers one file may set: more is a mistake, and every buffer is bounded. */
export const MAX_HEADERS = 64;

/** RFC 9110 `token`: the characters a header name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value: tab, printable ASCII and obs-text (what node:http accepts); no CR, LF, NUL or other control. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export interface HeaderEntry {
  name: string;
  value: string;
  line: number;
}

/** The headers of a headers file, by lower-case name; throws HeadersFileError naming the first bad line. */
export function parseHeadersFile(text: string): Map<string, HeaderEntry> {
  const headers = new Map<string, HeaderEntry>();
  const lines = text.split("\n");
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const content = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (/^[ \t]*(#.*)?$/.test(content)) continue; // `.` stops at a CR: a comment holding one is an error
    const colon = content.indexOf(":");
    if (colon < 0) throw new HeadersFileError(line, "expected `Name: value`");
    const name = content.slice(0, colon);
    if (!TOKEN.test(name))
      throw new HeadersFileError(
        line,
        "the name before `:` is empty or holds a character a header name cannot (space, control, separator)",
      );
    const value = content.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!FIELD_VALUE.test(value))
      throw new HeadersFileError(line, `the value of ${name} holds a CR, LF or other control character`);
    const key = name.toLowerCase();
    if (RESERVED_HEADERS.has(key))
      throw new HeadersFileError(line, `${name} is set by tcpstate itself and cannot be overridden`);
    const earlier = headers.get(key);
    if (earlier) throw new HeadersFileError(line, `${name} is already set on line ${earlier.line}`);
    if (headers.size === MAX_HEADERS)
      throw new HeadersFileError(line, `more than ${MAX_HEADERS} headers in one file`);
    headers.set(key, { name, value, line });
  }
  return headers;
}
