/**
 * Remote and local endpoints as tcpstate writes them everywhere (summaries' top destinations, live events,
 * the API): "ip:port", "[ip6]:port". Parsing also takes what `ss` prints (scope suffixes, v4-mapped addresses).
 */

/** `10.0.0.1:80`, `[fd00::1]:80`, `[::ffff:10.0.0.1]:80`, `*:*` → address and port (v4-mapped shown as v4). */
export function splitEndpoint(text: string): { address: string; port: number } | null {
  const colon = text.lastIndexOf(":");
  if (colon < 0) return null;
  let address = text.slice(0, colon);
  const port = text.slice(colon + 1) === "*" ? 0 : Number(text.slice(colon + 1));
  if (!Number.isInteger(port)) return null;
  // ss appends %iface to scoped addresses, after the bracket for IPv6: [fe80::2]%eth0:9001.
  const percent = address.indexOf("%");
  if (percent >= 0) address = address.slice(0, percent);
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  else if (address.startsWith("[")) address = address.slice(1);
  if (address.startsWith("::ffff:") && address.includes(".")) address = address.slice(7);
  return { address, port };
}

export function formatEndpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
