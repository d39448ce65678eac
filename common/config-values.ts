/** Parsers and zod types for config values every tcpstate command takes (listen addresses; durations: duration.ts). */
import { z } from "zod";

/**
 * A config value that is well-formed but unusable (an unreadable secret file, invalid rules, a missing demo
 * tool): start-up stops, exit code 2.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** `:9464`, `127.0.0.1:9464`, `[::1]:9464` → host and port (host "" = every address). */
export function parseListenAddress(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? m[2] ?? "", port };
}

/** A zod `[host]:port` flag → host and port. */
export const listenAddress = z.string().transform((text, ctx) => {
  const addr = parseListenAddress(text);
  if (!addr) {
    ctx.addIssue({
      code: "custom",
      message: `expected [host]:port like :9464 or 127.0.0.1:9464, got "${text}"`,
    });
    return z.NEVER;
  }
  return addr;
});
