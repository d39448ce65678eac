/** The HTTP API's query parameters: one zod schema per endpoint, errors that name the parameter. */
import { z } from "zod";
import { duration } from "../../common/duration.js";
import { isReservedParameter } from "../../common/request-target.js";
import { BadRequestError } from "../../common/service-http.js";

export const SORT_KEYS = ["churn", "time_wait", "syn_recv", "close_wait", "failed_connects"] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** Entries with nothing in the window (no transitions, sockets or listeners): hidden unless asked for. */
export const IDLE_MODES = ["hide", "show"] as const;

const DAY = 86_400_000;
const name = z.string().min(1, "must not be empty");
const window = duration(1000, 30 * DAY);

export const PodListQuerySchema = z.strictObject({
  namespace: name.optional(),
  node: name.optional(),
  /** "Kind/name" or just the name. */
  workload: name.optional(),
  sort: z.enum(SORT_KEYS, { error: `accepted values: ${SORT_KEYS.join(", ")}` }).default("churn"),
  window: window.prefault("5m"),
  limit: z.coerce
    .number({ error: "must be a whole number from 1 to 10000" })
    .int("must be a whole number from 1 to 10000")
    .min(1, "must be a whole number from 1 to 10000")
    .max(10_000, "must be a whole number from 1 to 10000")
    .default(50),
  idle: z.enum(IDLE_MODES, { error: `accepted values: ${IDLE_MODES.join(", ")}` }).default("hide"),
});
export type PodListQuery = z.output<typeof PodListQuerySchema>;

export const PodDetailQuerySchema = z.strictObject({ window: window.prefault("1h") });

export const RollupQuerySchema = z.strictObject({
  namespace: name.optional(),
  window: window.prefault("5m"),
});

export class QueryError extends BadRequestError {}

/**
 * Parses URL parameters with `schema`; a bad, unknown, repeated or reserved one (`__proto__`, `constructor`)
 * throws a QueryError naming it. The parameters land in an object without a prototype: no key can reach one.
 */
export function parseQuery<S extends z.ZodType>(schema: S, params: URLSearchParams): z.output<S> {
  const raw: Record<string, string> = Object.create(null);
  for (const [key, value] of params) {
    if (isReservedParameter(key)) throw new QueryError(key, `parameter name "${key}" is not accepted`);
    if (Object.hasOwn(raw, key)) throw new QueryError(key, `parameter ${key} given more than once`);
    raw[key] = value;
  }
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  if (issue.code === "unrecognized_keys") {
    const known = Object.keys((schema as unknown as z.ZodObject).shape).join(", ");
    throw new QueryError(issue.keys[0] ?? "", `unknown parameter "${issue.keys[0]}"; accepted: ${known}`);
  }
  const parameter = String(issue.path[0] ?? "");
  throw new QueryError(
    parameter,
    `parameter ${parameter}=${JSON.stringify(raw[parameter])}: ${issue.message}`,
  );
}
