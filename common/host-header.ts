/**
 * Which Host headers a service answers, against DNS rebinding: a web page on a name its author controls, made to
 * resolve to a tcpstate listener (a `kubectl port-forward` on 127.0.0.1, a node IP), must not read the API
 * from the browser. Such a request carries the attacker's public name in Host, so a request is refused only
 * when Host is a public-looking name nobody listed. Accepted without configuration:
 * - no Host (HTTP/1.0: browsers always send one) and IP literals (how probes, Prometheus and port-forwards
 *   address a service);
 * - `localhost` and `*.localhost` (resolved to loopback by the browser itself);
 * - a single-label name (a Service's short name in its namespace: public DNS names have a dot);
 * - Service DNS names, `*.svc` and `*.svc.cluster.local` (no public suffix).
 * Anything else must be listed: exactly, or by a `*.` suffix (`*.tcpstate.example.com`).
 */
import { isIPv4, isIPv6 } from "node:net";

const NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;
const CLUSTER_SUFFIXES = [".localhost", ".svc", ".svc.cluster.local"];

/** The host of a Host header (lower-cased, port and trailing dot removed); null when it is none. */
export function hostOfHeader(header: string): { host: string; ip: boolean } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(header);
  if (!m) return null;
  if (m[1] !== undefined) return isIPv6(m[1]) ? { host: m[1].toLowerCase(), ip: true } : null;
  const host = (m[2] as string).toLowerCase().replace(/\.$/, "");
  if (isIPv4(host)) return { host, ip: true };
  return NAME.test(host) && host.length <= 253 ? { host, ip: false } : null;
}

/** A `--allowed-hosts` entry as given: a name, or `*.` and a suffix. */
export function isHostPattern(entry: string): boolean {
  return NAME.test(entry.toLowerCase().replace(/^\*\./, ""));
}

export function hostAllowed(header: string | undefined, allowed: readonly string[]): boolean {
  if (header === undefined) return true;
  const parsed = hostOfHeader(header);
  if (!parsed) return false;
  const { host, ip } = parsed;
  if (ip || host === "localhost" || !host.includes(".")) return true;
  if (CLUSTER_SUFFIXES.some((suffix) => host.endsWith(suffix))) return true;
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    return e.startsWith("*.") ? host.endsWith(e.slice(1)) : host === e;
  });
}
