/**
 * The alert contract, version 1: what the collector publishes on NATS JetStream (`tcpstate.v1.alerts.<severity>`,
 * stream TCPSTATE_ALERTS), posts to the webhook and serves on GET /api/v1/alerts. Defined once here.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { subjectToken } from "../../agent/wire/subjects.js";

export const ALERT_SCHEMA = "tcpstate.v1.alert" as const;
export const ALERTS_SUBJECT_PREFIX = "tcpstate.v1.alerts";
export const ALERTS_STREAM = "TCPSTATE_ALERTS";

export function alertsSubject(severity: string): string {
  return `${ALERTS_SUBJECT_PREFIX}.${subjectToken(severity)}`;
}

export const AlertEventSchema = z.object({
  schema: z.literal(ALERT_SCHEMA),
  status: z.enum(["firing", "resolved"]),
  /** Stable per label set: hex of a hash of the sorted labels. */
  fingerprint: z.string().min(1),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  /** When the condition became true (RFC 3339, data time: the end of the window that showed it). */
  startsAt: z.string(),
  /** When it started firing (after `for`). */
  firedAt: z.string(),
  /** When it resolved; null while firing. */
  endsAt: z.string().nullable(),
  /** The rule's value at the last evaluation (sockets, or connections per second). */
  value: z.number(),
});
export type AlertEvent = z.infer<typeof AlertEventSchema>;

/** An alert as GET /api/v1/alerts shows it. */
export interface AlertView {
  fingerprint: string;
  state: "pending" | "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  activeAt: string;
  firedAt: string | null;
  resolvedAt: string | null;
  value: number;
  lastEvaluatedAt: string;
}

export function fingerprintOf(labels: Readonly<Record<string, string>>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join("\u0001");
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** The JetStream message id of an event: one per alert, start and status, so a re-publish is a duplicate. */
export function eventId(e: Pick<AlertEvent, "fingerprint" | "startsAt" | "status">): string {
  return `${e.fingerprint}/${Date.parse(e.startsAt)}/${e.status}`;
}
