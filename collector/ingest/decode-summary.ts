import { type NodeSummary, NodeSummarySchema, SUMMARY_SCHEMA } from "../../agent/wire/summary.js";

export type DecodeResult =
  | { ok: true; summary: NodeSummary }
  | { ok: false; reason: "malformed" | "unknown-version" | "invalid"; detail: string };

/** A message's bytes → a summary, or why not (malformed JSON, another schema version, a field off). */
export function decodeSummary(data: Uint8Array): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    return { ok: false, reason: "malformed", detail: `not JSON: ${(err as Error).message}` };
  }
  const schema = (value as { schema?: unknown } | null)?.schema;
  if (schema !== SUMMARY_SCHEMA)
    return {
      ok: false,
      reason: "unknown-version",
      detail: `schema ${JSON.stringify(schema)}, expected "${SUMMARY_SCHEMA}"`,
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
  return { ok: true, summary: parsed.data };
}
