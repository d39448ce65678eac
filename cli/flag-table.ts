import { type Command, Option } from "commander";
import type { z } from "zod";
import { durationBounds, formatDuration } from "../common/duration.js";

/**
 * A command-line flag: its config key, the env var that also sets it, its help and default. The default comes
 * from the config schema (withSchemaDefaults); `def` is set by hand only where a command's default differs from
 * the service's (`tcpstate local` listens on 127.0.0.1).
 */
export interface Flag {
  key: string;
  flag: string;
  env: string;
  help: string;
  def?: string;
}

/** A schema field's default as a flag shows it, or undefined (no default, or a switch that is off). */
export function schemaDefault(field: z.ZodType): string | undefined {
  const def = field._zod.def as { type: string; defaultValue?: unknown };
  if (def.type !== "default" && def.type !== "prefault") return undefined;
  const value = def.defaultValue;
  return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
}

/**
 * The flags with their defaults, and a duration's bounds in the help, taken from the config schema's fields,
 * so that `--help` and the schema cannot drift.
 */
export function withSchemaDefaults(flags: readonly Flag[], shape: Record<string, z.ZodType>): Flag[] {
  return flags.map((f) => {
    const field = shape[f.key];
    if (!field) throw new Error(`flag ${f.flag} has no config field ${f.key}`);
    const def = schemaDefault(field);
    const bounds = durationBounds(field);
    const help = bounds
      ? `${f.help} (${formatDuration(bounds.min)} to ${formatDuration(bounds.max)})`
      : f.help;
    return def === undefined ? { ...f, help } : { ...f, help, def };
  });
}

export function addFlags(cmd: Command, flags: readonly Flag[]): void {
  for (const f of flags) {
    const opt = new Option(f.flag, f.help).env(f.env);
    if (f.def !== undefined) opt.default(f.def);
    cmd.addOption(opt);
  }
}

/** A switch: on as a bare flag, or from its env var unless that is "", "0", "false" or "no". */
export function switchOn(value: unknown): boolean {
  return value === true || (typeof value === "string" && !["", "0", "false", "no"].includes(value));
}

/** A zod issue → "invalid --interval (env INTERVAL): must be …", naming the flag a user typed. */
export function describeConfigIssues(error: z.ZodError, flags: readonly Flag[]): string {
  return error.issues
    .map((issue) => {
      const key = String(issue.path[0] ?? "");
      const flag = flags.find((f) => f.key === key);
      const where = flag ? `${flag.flag.split(" ")[0]} (env ${flag.env})` : key || "config";
      return `invalid ${where}: ${issue.message}`;
    })
    .join("\n");
}

/** NATS connection flags, shared by the agent and the collector. */
export const NATS_FLAGS: readonly Flag[] = [
  {
    key: "natsUrl",
    flag: "--nats-url <urls>",
    env: "NATS_URL",
    help: "NATS servers, comma-separated (agent: publish summaries there, else to stdout; collector: consume)",
  },
  { key: "natsUser", flag: "--nats-user <user>", env: "NATS_USER", help: "NATS user" },
  {
    key: "natsPassword",
    flag: "--nats-password <password>",
    env: "NATS_PASSWORD",
    help: "NATS password (prefer --nats-password-file)",
  },
  {
    key: "natsPasswordFile",
    flag: "--nats-password-file <path>",
    env: "NATS_PASSWORD_FILE",
    help: "file holding the NATS password (a mounted Secret)",
  },
  {
    key: "natsToken",
    flag: "--nats-token <token>",
    env: "NATS_TOKEN",
    help: "NATS token (prefer --nats-token-file)",
  },
  {
    key: "natsTokenFile",
    flag: "--nats-token-file <path>",
    env: "NATS_TOKEN_FILE",
    help: "file holding the NATS token",
  },
  {
    key: "natsCreds",
    flag: "--nats-creds <path>",
    env: "NATS_CREDS",
    help: "NATS .creds file (JWT and NKey seed)",
  },
  { key: "natsNkey", flag: "--nats-nkey <path>", env: "NATS_NKEY", help: "file holding an NKey seed" },
  {
    key: "natsTlsCa",
    flag: "--nats-tls-ca <path>",
    env: "NATS_TLS_CA",
    help: "CA bundle to verify the NATS server",
  },
  {
    key: "natsTlsCert",
    flag: "--nats-tls-cert <path>",
    env: "NATS_TLS_CERT",
    help: "client certificate for NATS",
  },
  { key: "natsTlsKey", flag: "--nats-tls-key <path>", env: "NATS_TLS_KEY", help: "client key for NATS" },
];
