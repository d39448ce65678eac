/** Parsers and zod types for config values every tcpstate command takes (durations, listen addresses). */
import { z } from "zod";

/**
 * A config value that is well-formed but unusable (an unreadable secret file, invalid rules, a missing demo
 * tool): start-up stops, exit code 2.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** `5s`, `500ms`, `1m`, `1h` → milliseconds. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * unit);
}

/** A zod duration flag (`5s`) → milliseconds, bounded. */
export const duration = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === null) {
      ctx.addIssue({ code: "custom", message: `expected a duration like 5s, 500ms or 1m, got "${text}"` });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({
        code: "custom",
        message: `must be between ${formatDuration(min)} and ${formatDuration(max)}, got "${text}"`,
      });
      return z.NEVER;
    }
    return ms;
  });

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

/** 300000 → "300s", 86400000 → "24h": the form a bound is stated in. */
function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000}h`;
  return `${ms / 1000}s`;
}
