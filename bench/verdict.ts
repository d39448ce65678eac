// A benchmark's targets and its verdict: each target held or missed, said in the report, and the exit code
// non-zero when one is missed, so a regression cannot pass unnoticed. Tables name the commit they measured.
import { execFileSync } from "node:child_process";

export interface Target {
  /** What is promised, e.g. "p99 ≤ 50 ms". */
  name: string;
  held: boolean;
  /** What was measured. */
  detail: string;
}

/** The exit code of a run that completed but missed a target (1 is an error, 130 an interrupt). */
export const MISSED_EXIT_CODE = 3;

/** The markdown lines of the verdict: one per target. */
export function verdictLines(targets: readonly Target[]): string[] {
  return targets.map((t) => `- ${t.name}: **${t.held ? "HELD" : "MISSED"}** (${t.detail})`);
}

/** The commit measured, `-dirty` when the work tree has uncommitted changes (git's own words for it). */
export function measuredCommit(): string {
  try {
    return execFileSync("git", ["describe", "--always", "--dirty", "--abbrev=10"], {
      encoding: "utf8",
    }).trim();
  } catch {
    return "unknown (not a git checkout)";
  }
}
