/**
 * The request line's target, checked before anything reads it. Pure: never throws, and what it accepts builds a
 * URL without surprises (no scheme-relative `//host`, no dot segments for the URL parser to fold, every escape
 * decodable).
 *
 * Only the origin-form (`/path?query`) is served. The absolute-form (`http://host/path`) is refused: only
 * proxies are sent it, no tcpstate client sends it, and honouring it would give a request a second authority
 * besides its Host header, the one the DNS-rebinding check reads.
 */

/** Longer targets are refused (414) before parsing; Node's maxHeaderSize (16 KiB) bounds the whole head. */
export const MAX_TARGET_LENGTH = 8192;

/** Query keys that name object internals: never accepted, whatever the route (prototype pollution). */
const RESERVED_PARAMETERS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export function isReservedParameter(key: string): boolean {
  return RESERVED_PARAMETERS.has(key);
}

export type TargetRefusalReason =
  | "target_form"
  | "target_too_long"
  | "target_characters"
  | "bad_escape"
  | "dot_segment"
  | "reserved_parameter";

export type RequestTarget =
  | { ok: true; path: string; query: string }
  | { ok: false; reason: TargetRefusalReason; message: string; parameter?: string };

// RFC 3986 path: "/" segments of pchar (unreserved, sub-delims, ":", "@", and %-escapes).
const PATH = /^(?:\/[A-Za-z0-9\-._~!$&'()*+,;=:@%]*)+$/;
// Query: visible ASCII but "#" (RFC 3986 query characters, plus those browsers leave unescaped, like "|").
const QUERY = /^[\x21\x22\x24-\x7e]*$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** A %-escaped path segment or query component, decoded; null when its escapes are no UTF-8. */
export function decodeComponent(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function refuse(reason: TargetRefusalReason, message: string, parameter?: string): RequestTarget {
  return parameter === undefined ? { ok: false, reason, message } : { ok: false, reason, message, parameter };
}

/** Quoted for a message, cut short: a refused target can be 8 KiB of anything. */
function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

export function parseRequestTarget(target: string | undefined): RequestTarget {
  if (target === undefined || target === "") return refuse("target_form", "empty request target");
  if (target.length > MAX_TARGET_LENGTH)
    return refuse("target_too_long", `request target longer than ${MAX_TARGET_LENGTH} characters`);
  if (!target.startsWith("/"))
    return refuse("target_form", `expected a path starting with "/", got ${quote(target)}`);
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "" : target.slice(q + 1);
  if (!PATH.test(path)) return refuse("target_characters", `path ${quote(path)} has characters to %-escape`);
  if (!QUERY.test(query))
    return refuse("target_characters", `query ${quote(query)} has characters to %-escape`);
  if (BAD_ESCAPE.test(target)) return refuse("bad_escape", `bad %-escape in ${quote(target)}`);
  for (const segment of path.slice(1).split("/")) {
    const decoded = decodeComponent(segment);
    if (decoded === null) return refuse("bad_escape", `path segment ${quote(segment)} is no UTF-8`);
    if (decoded === "." || decoded === "..")
      return refuse("dot_segment", `path ${quote(path)} has a "${decoded}" segment`);
  }
  if (query !== "")
    for (const pair of query.split("&")) {
      const eq = pair.indexOf("=");
      const rawKey = eq < 0 ? pair : pair.slice(0, eq);
      const key = decodeComponent(rawKey.replaceAll("+", " "));
      const value = eq < 0 ? "" : decodeComponent(pair.slice(eq + 1).replaceAll("+", " "));
      if (key === null || value === null)
        return refuse("bad_escape", `query parameter ${quote(pair)} is no UTF-8`);
      if (isReservedParameter(key))
        return refuse("reserved_parameter", `parameter name "${key}" is not accepted`, key);
    }
  return { ok: true, path, query };
}

/** The URL routes read: built from an accepted target by setters, which never throw. */
export function targetUrl(target: { path: string; query: string }): URL {
  const url = new URL("http://tcpstate/");
  url.pathname = target.path;
  url.search = target.query;
  return url;
}
