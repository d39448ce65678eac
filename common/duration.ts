/**
 * Durations as every tcpstate input spells them (flags, env vars, the chart's values, alert rules files, the
 * query's `window=`): one or more `<number><unit>` terms, units h, m, s and ms, summed as Go's
 * time.ParseDuration does (`1h30m`, `1m30s`, `90s`, `1.5s`, `500ms`). No sign, no spaces, no bare number:
 * the chart's values.schema.json pattern `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$` accepts exactly these strings,
 * so a value the chart installs is a value the binary starts with.
 */
import { z } from "zod";

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;

/** One term: digits, an optional fraction, a unit ("ms" before "m", so `5ms` is not `5m` then `s`). */
const TERM = /([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)/y;

/** What the refusal says a duration looks like. */
export const DURATION_EXAMPLES = "5s, 500ms, 1m or 1h30m";

/** `1h30m` → 5400000, `500ms` → 500; null for anything else. Milliseconds, rounded to the nearest. */
export function parseDuration(text: string): number | null {
  if (text.length === 0) return null;
  let total = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < text.length) {
    const m = TERM.exec(text);
    if (!m) return null;
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  }
  // Huge numbers of hours overflow to Infinity; bounds refuse that like any other too-long duration.
  return Math.round(total);
}

/** 5400000 → "1h30m", 90500 → "1m30.5s", 500 → "500ms", 0 → "0s": whole milliseconds, zero terms left out. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`.replace(/^0ms$/, "0s");
  const h = Math.floor(ms / UNIT_MS.h);
  const m = Math.floor((ms % UNIT_MS.h) / UNIT_MS.m);
  const s = (ms % UNIT_MS.m) / 1000;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
}

/** The value as a refusal quotes it: escaped (it may reach a terminal) and cut short (it may be huge). */
function quoted(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** The bounds of each schema duration() made, so that `--help` states them from the schema. */
const BOUNDS = new WeakMap<z.ZodType, { min: number; max: number }>();

/** The bounds of a duration field (through .default/.prefault/.optional), or undefined for other fields. */
export function durationBounds(field: z.ZodType): { min: number; max: number } | undefined {
  let schema: z.ZodType | undefined = field;
  while (schema) {
    const bounds = BOUNDS.get(schema);
    if (bounds) return bounds;
    schema = (schema._zod.def as { innerType?: z.ZodType }).innerType;
  }
  return undefined;
}

/** A zod duration (a flag, a rules-file field, a query parameter) → milliseconds within [min, max]. */
export function duration(min: number, max: number) {
  const schema = z
    .string({ error: `expected a duration like ${DURATION_EXAMPLES}` })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null) {
        ctx.addIssue({
          code: "custom",
          message: `expected a duration like ${DURATION_EXAMPLES}, got ${quoted(text)}`,
        });
        return z.NEVER;
      }
      if (ms < min || ms > max) {
        ctx.addIssue({
          code: "custom",
          message: `must be between ${formatDuration(min)} and ${formatDuration(max)}, got ${quoted(text)}`,
        });
        return z.NEVER;
      }
      return ms;
    });
  BOUNDS.set(schema, { min, max });
  return schema;
}
