/**
 * Reloads the rules file when it changes. Polls the file's identity (inode, size, mtime, following symlinks):
 * a Kubernetes ConfigMap update swaps a symlink rather than writing the file, which file watches miss. A file
 * that fails to parse is rejected, logged and counted, and the rules in force stay.
 */
import { readFileSync, statSync } from "node:fs";
import type { Logger } from "pino";
import { parseRulesFile, type RulesConfig, RulesFileError } from "./rules-file.js";

export function fileIdentity(path: string): string | null {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return null;
  }
}

/** Reads and parses the rules file; throws RulesFileError (also for an unreadable file). */
export function loadRulesFile(path: string): RulesConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new RulesFileError(path, [{ message: `cannot read it: ${(err as Error).message}` }], {
      cause: err,
    });
  }
  return parseRulesFile(path, text);
}

export class RulesWatcher {
  reloads = 0;
  failures = 0;
  private identity: string | null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly apply: (rules: RulesConfig) => void,
    private readonly logger: Logger,
    pollMs = 1000,
  ) {
    this.identity = fileIdentity(path);
    this.timer = setInterval(() => this.check(), pollMs);
    this.timer.unref();
  }

  check(): void {
    const now = fileIdentity(this.path);
    if (now === this.identity) return;
    this.identity = now;
    try {
      const rules = loadRulesFile(this.path);
      this.apply(rules);
      this.reloads++;
      this.logger.info({ file: this.path }, "alert rules reloaded");
    } catch (err) {
      if (!(err instanceof RulesFileError)) throw err;
      this.failures++;
      this.logger.error(
        { file: this.path, err: err.message, problems: err.problems },
        "alert rules file rejected: keeping the rules in force",
      );
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
