import { readFile } from "node:fs/promises";

/**
 * The IPv4 addresses local to a network namespace, from /proc/<pid>/net/fib_trie: every `/32 host LOCAL`
 * leaf, loopback excluded. (The file lists the Main and Local tables; an address may appear in both.)
 */
export function parseFibTrieLocalAddresses(text: string): string[] {
  const found = new Set<string>();
  let lastLeaf = "";
  for (const line of text.split("\n")) {
    const trimmed = line.trimStart();
    if (trimmed.startsWith("|-- ")) lastLeaf = trimmed.slice(4).trim();
    else if (trimmed.startsWith("/32 host LOCAL") && lastLeaf && !lastLeaf.startsWith("127."))
      found.add(lastLeaf);
  }
  return [...found];
}

/** Global and unique-local IPv6 addresses from /proc/<pid>/net/if_inet6 (link-local and loopback skipped). */
export function parseIfInet6(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split("\n")) {
    const [hex, , , scope] = line.trim().split(/\s+/);
    // Scope 00 is global (unique-local fd00::/8 included); 20 link, 10 host (loopback).
    if (hex?.length !== 32 || scope !== "00") continue;
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    found.push(compressIpv6(groups.map((g) => Number.parseInt(g, 16))));
  }
  return found;
}

/** RFC 5952 text form of eight 16-bit groups (the form the kube API and `ip` print). */
export function compressIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return null; // the process exited: absent, not an error
  }
}

/** The addresses of the network namespace `pid` lives in. */
export async function readNetnsAddresses(procRoot: string, pid: number): Promise<string[]> {
  const [v4, v6] = await Promise.all([
    readOptional(`${procRoot}/${pid}/net/fib_trie`),
    readOptional(`${procRoot}/${pid}/net/if_inet6`),
  ]);
  return [...(v4 ? parseFibTrieLocalAddresses(v4) : []), ...(v6 ? parseIfInet6(v6) : [])];
}
