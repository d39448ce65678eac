/**
 * A sink URL's credentials: `user:pass@` is taken out of the URL (fetch and proxies refuse or log it) to become
 * an Authorization header, and any URL that is logged or put in an error is redacted to `https://***@host/…`.
 */

/** The URL without its userinfo, and what the userinfo held (percent-decoded). */
export interface UrlCredentials {
  url: string;
  user: string | undefined;
  password: string | undefined;
}

/** Splits `https://user:pass@host/path` into `https://host/path`, user and password; throws on a bad URL. */
export function splitUserinfo(text: string): UrlCredentials {
  const url = new URL(text);
  // A malformed %-escape is reported without the userinfo it sits in.
  const decode = (part: string, what: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new Error(`the URL's ${what} holds a malformed %-escape`);
    }
  };
  const user = url.username ? decode(url.username, "user") : undefined;
  const password = url.password ? decode(url.password, "password") : undefined;
  url.username = "";
  url.password = "";
  return { url: url.href, user, password };
}

/**
 * `https://user:pass@host/x` → `https://***@host/x`; a URL without userinfo is returned as it is. Text that is
 * not a `scheme://` URL is redacted from its start (or scheme) to its last `@`: a password holding `/` or `#`
 * breaks URL parsing, and `alice:pw@host` (no scheme) parses as scheme `alice:`; neither may leak through the
 * message saying the URL is wrong.
 */
export function redactUrl(text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i;
  if (!scheme.test(text) || !URL.canParse(text))
    return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, (_all, prefix?: string) => `${prefix ?? ""}***@`);
  const url = new URL(text);
  if (!url.username && !url.password) return text;
  url.username = "";
  url.password = "";
  return url.href.replace(scheme, (prefix) => `${prefix}***@`);
}
