import { parseArgs } from "node:util";

/** A problem the user can fix (bad option, missing tool): reported without a stack trace. */
export class BenchError extends Error {}

/** How the churn's connections travel: over one pod's lo, or between two pods through veth + bridge. */
export const BENCH_PATHS = ["loopback", "veth"] as const;
export type BenchPath = (typeof BENCH_PATHS)[number];

export interface Options {
  /** Seconds of traffic per run. */
  seconds: number;
  /** Client target rates, connections/s; 0 = as fast as the generator goes ("max"). */
  rates: number[];
  path: BenchPath;
  /** The agent's window, seconds (its --interval): the gauge pass runs once per window. */
  interval: number;
}

const USAGE = "usage: agent-bench [--seconds N] [--rates max,10000] [--path loopback|veth] [--interval 5]";

/** `--seconds 20 --rates max,10000 --path loopback`, or env BENCH_SECONDS / BENCH_RATES / BENCH_PATH; argv wins. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  let values: { seconds?: string; rates?: string; path?: string; interval?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        seconds: { type: "string" },
        rates: { type: "string" },
        path: { type: "string" },
        interval: { type: "string" },
      },
    }));
  } catch (err) {
    throw new BenchError(`${(err as Error).message}\n${USAGE}`);
  }
  const secondsText = values.seconds ?? env.BENCH_SECONDS ?? "20";
  const seconds = Number(secondsText);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600)
    throw new BenchError(`--seconds must be an integer from 1 to 3600, got "${secondsText}"`);
  const rates = (values.rates ?? env.BENCH_RATES ?? "max,10000").split(",").map((text) => {
    const t = text.trim();
    if (t === "max") return 0;
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1)
      throw new BenchError(`--rates: expected "max" or a positive integer, got "${t}"`);
    return n;
  });
  const path = values.path ?? env.BENCH_PATH ?? "loopback";
  if (!isBenchPath(path)) throw new BenchError(`--path: expected ${BENCH_PATHS.join(" or ")}, got "${path}"`);
  const intervalText = values.interval ?? env.BENCH_INTERVAL ?? "5";
  const interval = Number(intervalText);
  if (!Number.isInteger(interval) || interval < 1 || interval > 60)
    throw new BenchError(
      `--interval must be an integer number of seconds from 1 to 60, got "${intervalText}"`,
    );
  return { seconds, rates, path, interval };
}

function isBenchPath(s: string): s is BenchPath {
  return (BENCH_PATHS as readonly string[]).includes(s);
}

export function rateLabel(rate: number): string {
  return rate === 0 ? "max" : String(rate);
}
