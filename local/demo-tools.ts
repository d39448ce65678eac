import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ConfigError } from "../common/config-values.js";

const run = promisify(execFile);

/** What `--demo` needs beyond the agent: `ip` for the namespaces and python3 for the half-open connections. */
export async function requireDemoTools(): Promise<void> {
  for (const [cmd, args, pkg, why] of [
    ["ip", ["-V"], "iproute2", "to create the demo's network namespaces"],
    ["python3", ["--version"], "python3", "to send the demo's half-open connections (raw SYNs)"],
  ] as const) {
    try {
      await run(cmd, [...args]);
    } catch {
      throw new ConfigError(`${cmd} is needed ${why}: apt-get install ${pkg} (or run without --demo)`);
    }
  }
}
