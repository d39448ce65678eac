import { SUMMARY_SUBJECT_PREFIX, subjectToken } from "../../agent/wire/subjects.js";
import {
  type NodeSummary,
  NodeSummarySchema,
  SUMMARY_LIMITS,
  SUMMARY_SCHEMA,
} from "../../agent/wire/summary.js";

/** Why a message is not applied: each a dead-letter reason, counted and logged once. */
export const REFUSAL_REASONS = [
  "too-large",
  "malformed",
  "unknown-version",
  "invalid",
  "wrong-subject",
  "from-the-future",
  "apply-failed",
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export type DecodeResult =
  | { ok: true; summary: NodeSummary }
  | { ok: false; reason: RefusalReason; detail: string };

/** How far ahead of the collector's clock a window may end (nodes' clocks drift; NTP keeps them far closer). */
export const MAX_CLOCK_SKEW_MS = 60_000;

const decoder = new TextDecoder();

/**
 * A message's bytes → a summary, or why not: too large (checked before parsing), malformed JSON, another
 * schema version, a field off its bounds, published on another node's subject (a node may only speak for
 * itself: the subject is what NATS permissions can restrict), or a window ending in the future.
 */
export function decodeSummary(data: Uint8Array, subject: string, now: number): DecodeResult {
  if (data.byteLength > SUMMARY_LIMITS.bytes)
    return {
      ok: false,
      reason: "too-large",
      detail: `${data.byteLength} bytes, at most ${SUMMARY_LIMITS.bytes}`,
    };
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch (err) {
    return { ok: false, reason: "malformed", detail: `not JSON: ${(err as Error).message}` };
  }
  const schema = (value as { schema?: unknown } | null)?.schema;
  if (schema !== SUMMARY_SCHEMA)
    return {
      ok: false,
      reason: "unknown-version",
      detail: `schema ${JSON.stringify(schema)?.slice(0, 100)}, expected "${SUMMARY_SCHEMA}"`,
    };
  const parsed = NodeSummarySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: "invalid",
      detail: `${issue?.path.join(".") || "summary"}: ${issue?.message}`,
    };
  }
  const summary = parsed.data;
  const expected = `${SUMMARY_SUBJECT_PREFIX}.${subjectToken(summary.node)}`;
  if (subject !== expected)
    return {
      ok: false,
      reason: "wrong-subject",
      detail: `a summary of node ${JSON.stringify(summary.node)} must come on ${expected}`,
    };
  if (summary.windowEnd > now + MAX_CLOCK_SKEW_MS)
    return {
      ok: false,
      reason: "from-the-future",
      detail: `window ends ${summary.windowEnd - now} ms after the collector's clock (at most ${MAX_CLOCK_SKEW_MS} ms)`,
    };
  return { ok: true, summary };
}
