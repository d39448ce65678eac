/**
 * The alert rules file (YAML): five rules, each with defaults that fit most clusters (README, "Alerts"), any
 * field overridable, unknown fields rejected with a message naming the file, the rule and the field.
 */
import { parseDocument } from "yaml";
import { z } from "zod";
import { duration } from "../../common/duration.js";
import { parseLabelSelector, SelectorError } from "./label-selector.js";
import type { Scope } from "./scope.js";

export const RULE_NAMES = [
  "TimeWaitBuildup",
  "SynRecvBuildup",
  "EphemeralPortPressure",
  "ConnectionChurnSpike",
  "CloseWaitLeak",
] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/** A rules file that cannot be used: names the file, and the rule and field where one is to blame. */
export class RulesFileError extends Error {
  override readonly name = "RulesFileError";
  readonly code = "BAD_RULES_FILE";
  constructor(
    readonly file: string,
    readonly problems: { rule?: string; field?: string; message: string }[],
    options?: ErrorOptions,
  ) {
    super(
      problems
        .map(
          (p) =>
            `rules file ${file}: ${p.rule ? `rule ${p.rule}: ` : ""}${p.field ? `field ${p.field}: ` : ""}${p.message}`,
        )
        .join("\n"),
      options,
    );
  }
}

const DAY = 86_400_000;

const globs = z.array(z.string().min(1, "must not be empty"));

const ScopeSchema = z.strictObject({
  namespaces: globs.optional(),
  excludeNamespaces: globs.optional(),
  /** "Kind/name" globs, e.g. "Deployment/api-*". */
  workloads: globs.optional(),
  podLabels: z
    .string()
    .transform((text, ctx) => {
      try {
        return parseLabelSelector(text);
      } catch (err) {
        if (!(err instanceof SelectorError)) throw err;
        ctx.addIssue({ code: "custom", message: err.message });
        return z.NEVER;
      }
    })
    .optional(),
});

const common = {
  enabled: z.boolean().optional(),
  severity: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be a lower-case word like critical, warning or info")
    .optional(),
  for: duration(0, DAY).optional(),
  holdDown: duration(0, DAY).optional(),
  runbookUrl: z.string().optional(),
  scope: ScopeSchema.optional(),
};
const floor = z.number().nonnegative();
const baseline = {
  floor: floor.optional(),
  factor: z.number().positive().optional(),
  baselineWindow: duration(1000, 7 * DAY).optional(),
};

const PortRangeSchema = z.string().transform((text, ctx) => {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  const low = Number(m?.[1]);
  const high = Number(m?.[2]);
  if (!m || low < 1 || high > 65535 || low > high) {
    ctx.addIssue({ code: "custom", message: `expected "low-high" within 1-65535, got "${text}"` });
    return z.NEVER;
  }
  return { low, high };
});

const buildup = { ...baseline, coldStartFloor: floor.optional() };

const RuleSchemas = {
  TimeWaitBuildup: z.strictObject({ ...common, ...buildup, dangerLevel: floor.optional() }),
  SynRecvBuildup: z.strictObject({ ...common, ...buildup }),
  EphemeralPortPressure: z.strictObject({
    ...common,
    ratio: z.number().gt(0).max(1).optional(),
    portRange: PortRangeSchema.optional(),
  }),
  ConnectionChurnSpike: z.strictObject({ ...common, ...baseline }),
  CloseWaitLeak: z.strictObject({ ...common, floor: floor.optional() }),
} as const;

const RulesFileSchema = z.strictObject({
  rules: z
    .strictObject(
      Object.fromEntries(RULE_NAMES.map((n) => [n, RuleSchemas[n].nullable().optional()])) as {
        [K in RuleName]: z.ZodOptional<z.ZodNullable<(typeof RuleSchemas)[K]>>;
      },
    )
    .nullable()
    .optional(),
});

interface RuleCommon {
  enabled: boolean;
  severity: string;
  forMs: number;
  holdDownMs: number;
  runbookUrl: string;
  scope: Scope;
}
export interface BaselineRule extends RuleCommon {
  /** Absolute minimum (sockets, or connections per second for churn). */
  floor: number;
  /** How many times its trailing median the value must be. */
  factor: number;
  baselineWindowMs: number;
}
/** A baseline rule for a level that builds up (TIME_WAIT, SYN_RECV): compared with its quiet level. */
export interface BuildupRule extends BaselineRule {
  /** What the level must reach while the pod has no baseline yet (under half the window of history). */
  coldStartFloor: number;
}
export interface TimeWaitRule extends BuildupRule {
  /** A TIME_WAIT count that fires whatever the pod's history. */
  dangerLevel: number;
}
export interface PortPressureRule extends RuleCommon {
  ratio: number;
  portRange: { low: number; high: number };
}
export interface FloorRule extends RuleCommon {
  floor: number;
}
export interface RulesConfig {
  TimeWaitBuildup: TimeWaitRule;
  SynRecvBuildup: BuildupRule;
  EphemeralPortPressure: PortPressureRule;
  ConnectionChurnSpike: BaselineRule;
  CloseWaitLeak: FloorRule;
}

const base = (severity: string, forMs: number): RuleCommon => ({
  enabled: true,
  severity,
  forMs,
  holdDownMs: 120_000,
  runbookUrl: "",
  scope: {},
});

/** The rules with no --rules file (README, "Alerts", says why each number). */
export function defaultRules(): RulesConfig {
  return {
    // A steady pod holds about (connections it closes first per second) × 60 s of TIME_WAIT: 1,200 at 20/s.
    // Cold start: 10,000 is a pod closing ~170/s, far above what healthy pods hold. Danger: 20,000 is 70% of the
    // default ephemeral range (28,232 ports); a client pod's TIME_WAIT goes to a few destinations, so it is one
    // burst from running out toward one of them, whatever the pod held before (EphemeralPortPressure sees
    // one destination's count; this sees the pod's).
    TimeWaitBuildup: {
      ...base("warning", 120_000),
      floor: 500,
      factor: 4,
      baselineWindowMs: 3_600_000,
      coldStartFloor: 10_000,
      dangerLevel: 20_000,
    },
    // Half-open connections last one round trip: 50 at once is 5,000 new connections/s at 10 ms, which healthy
    // pods rarely see, so the floor is also the cold-start level. Danger (a SYN queue at its listener's backlog)
    // is no field: it is where the kernel starts dropping SYNs or answering with cookies.
    SynRecvBuildup: {
      ...base("critical", 60_000),
      floor: 50,
      factor: 4,
      baselineWindowMs: 3_600_000,
      coldStartFloor: 50,
    },
    EphemeralPortPressure: {
      ...base("critical", 120_000),
      ratio: 0.5,
      portRange: { low: 32768, high: 60999 },
    },
    ConnectionChurnSpike: { ...base("warning", 120_000), floor: 100, factor: 5, baselineWindowMs: 3_600_000 },
    CloseWaitLeak: { ...base("warning", 600_000), floor: 20 },
  };
}

/** File field names → config names where they differ. */
const RENAMED: Record<string, string> = {
  for: "forMs",
  holdDown: "holdDownMs",
  baselineWindow: "baselineWindowMs",
};

function describe(issue: z.core.$ZodIssue): { rule?: string; field?: string; message: string } {
  const path = issue.path.map(String);
  const [top, rule, ...rest] = path;
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.join(", ");
    if (path.length === 0) return { field: keys, message: `unknown field (expected: rules)` };
    if (path.length === 1 && top === "rules")
      return { rule: keys, message: `unknown rule (expected one of: ${RULE_NAMES.join(", ")})` };
    return {
      ...(rule !== undefined ? { rule } : {}),
      field: [...rest, keys].join("."),
      message: "unknown field",
    };
  }
  const field = rest.join(".");
  return {
    ...(rule !== undefined ? { rule } : {}),
    ...(field ? { field } : top && !rule ? { field: top } : {}),
    message: issue.message,
  };
}

/** Parses the text of a rules file `file` over the defaults; throws RulesFileError. */
export function parseRulesFile(file: string, text: string): RulesConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0)
    throw new RulesFileError(
      file,
      doc.errors.map((e) => ({ message: `not valid YAML: ${e.message.split("\n")[0]}` })),
    );
  const raw = doc.toJS() ?? {};
  const parsed = RulesFileSchema.safeParse(raw);
  if (!parsed.success) throw new RulesFileError(file, parsed.error.issues.map(describe));
  const rules = defaultRules();
  for (const name of RULE_NAMES) {
    const given = parsed.data.rules?.[name];
    if (!given) continue;
    const target = rules[name] as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(given))
      if (value !== undefined) target[RENAMED[key] ?? key] = value;
  }
  checkLevels(file, rules, parsed.data.rules ?? {});
  return rules;
}

/**
 * A cold-start floor or danger level set under the floor would fire on what the floor calls harmless: refused.
 * Their defaults are not checked: under a raised floor the floor applies (see buildupActive).
 */
function checkLevels(
  file: string,
  rules: RulesConfig,
  given: Partial<Record<RuleName, object | null>>,
): void {
  const problems: { rule: string; field: string; message: string }[] = [];
  for (const rule of ["TimeWaitBuildup", "SynRecvBuildup"] as const)
    for (const field of ["coldStartFloor", "dangerLevel"] as const) {
      const value = (given[rule] as Record<string, unknown> | null | undefined)?.[field];
      if (typeof value === "number" && value < rules[rule].floor)
        problems.push({
          rule,
          field,
          message: `must be at least the floor (${rules[rule].floor}), got ${value}`,
        });
    }
  if (problems.length > 0) throw new RulesFileError(file, problems);
}
