/** tcpstate's version: package.json's, read once. Its one owner (`--version`, tcpstate_build_info, start logs). */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Said where package.json cannot be read: a broken install still starts, and says so in every place. */
export const UNKNOWN_VERSION = "unknown";

/**
 * The version in the tcpstate package.json nearest above `dir`: `common/` in the source tree (../package.json),
 * `dist/common/` once built (../../package.json). A package.json of another package is passed over.
 */
export function readPackageVersion(dir: string): string {
  for (let at = dir, up = 0; up < 4; up++, at = dirname(at)) {
    let text: string;
    try {
      text = readFileSync(join(at, "package.json"), "utf8");
    } catch {
      continue;
    }
    try {
      const pkg: unknown = JSON.parse(text);
      if (typeof pkg === "object" && pkg !== null && "name" in pkg && pkg.name === "tcpstate")
        return "version" in pkg && typeof pkg.version === "string" ? pkg.version : UNKNOWN_VERSION;
    } catch {
      // Not JSON: not ours; look further up.
    }
  }
  return UNKNOWN_VERSION;
}

let version: string | undefined;

/** tcpstate's version, e.g. "0.1.0". */
export function packageVersion(): string {
  version ??= readPackageVersion(dirname(fileURLToPath(import.meta.url)));
  return version;
}
