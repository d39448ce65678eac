import { hostname } from "node:os";
import { z } from "zod";
import { listenAddress } from "../common/config-values.js";
import { duration } from "../common/duration.js";
import { EVENTS_MODES } from "./publish/event-publisher.js";
import { NATS_CONFIG_SHAPE } from "./wire/nats-connection.js";

const path = z.string().min(1, "must not be empty");

/**
 * /events on the agent's HTTP listener: `auto` serves it only without --nats-url (in a cluster the collector
 * relays events, under its own access and limits), `on` also with NATS, `off` never.
 */
export const HTTP_EVENTS_MODES = ["auto", "on", "off"] as const;

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
    httpEvents: z.enum(HTTP_EVENTS_MODES).default("auto"),
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
