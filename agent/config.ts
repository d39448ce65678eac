import { hostname } from "node:os";
import { z } from "zod";
import { EVENTS_MODES } from "./publish/event-publisher.js";
import { NATS_CONFIG_SHAPE } from "./wire/nats-connection.js";

/** `5s`, `500ms`, `1m`, `1h` → milliseconds. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * unit);
}

const duration = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === null) {
      ctx.addIssue({ code: "custom", message: `expected a duration like 5s, 500ms or 1m, got "${text}"` });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({
        code: "custom",
        message: `must be between ${min / 1000}s and ${max / 1000}s, got "${text}"`,
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

const listenAddress = z.string().transform((text, ctx) => {
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

const path = z.string().min(1, "must not be empty");

export const AgentConfigSchema = z
  .object({
    nodeName: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a Kubernetes node name")
      .optional(),
    kubeconfig: path.optional(),
    interval: duration(1000, 300_000).prefault("5s"),
    metricsAddr: listenAddress.prefault(":9464"),
    standalone: z.boolean().default(false),
    bpftrace: path.default("bpftrace"),
    procRoot: path.default("/proc"),
    netnsDir: path.default("/var/run/netns"),
    tracefs: path.default("/sys/kernel/tracing"),
    cgroupRoot: path.optional(),
    ...NATS_CONFIG_SHAPE,
    bufferWindows: z.coerce.number().int().min(1).max(100_000).default(120),
    events: z.enum(EVENTS_MODES).default("on-demand"),
    maxLabels: z.coerce.number().int().min(0).max(64).default(16),
    eventsPerSecond: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
  })
  .transform((c, ctx) => {
    const nodeName = c.nodeName ?? (c.standalone ? hostname().toLowerCase() : undefined);
    if (!nodeName) {
      ctx.addIssue({
        code: "custom",
        path: ["nodeName"],
        message: "is required (the node this agent runs on; the chart sets NODE_NAME from the downward API)",
      });
      return z.NEVER;
    }
    return { ...c, nodeName };
  });

export type AgentConfig = z.output<typeof AgentConfigSchema>;
