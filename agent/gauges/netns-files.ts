import { readFileSync } from "node:fs";
import { execa } from "execa";
import { type NetnsHandle, netnsFileOf } from "../attribution/netns-handle.js";

/** The netns's files this agent reads (sockstat, snmp, …): a few KB each; more is not a /proc/net file. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

/**
 * `tail -v -n +1 -- f1 f2 …` output → each file's text by its base name. tail heads every file with
 * `==> path <==` and puts a blank line before each header but the first; a file it could not open has none.
 */
export function parseTailVerbose(text: string): Map<string, string> {
  const out = new Map<string, string>();
  // A header starts the output or follows a blank line (an empty file's header line is then followed by it).
  const header = /(?<=^|\n\n)==> ([^\n]*) <==\n/g;
  const found = [...text.matchAll(header)];
  for (let i = 0; i < found.length; i++) {
    const m = found[i] as RegExpMatchArray;
    const start = (m.index ?? 0) + m[0].length;
    // The blank line before the next header is tail's; the file's own last newline is kept.
    const next = found[i + 1]?.index;
    const end = next === undefined ? text.length : next - 1;
    const path = m[1] as string;
    out.set(path.slice(path.lastIndexOf("/") + 1), text.slice(start, end));
  }
  return out;
}

function readOptional(path: string): string | null {
  try {
    // Synchronous on purpose: these small /proc files are generated in memory and never block, and the
    // promise API costs ≈ 4× the CPU per read (measured by bench:gauges), which every netns pays every window.
    return readFileSync(path, "utf8");
  } catch {
    return null; // the process left: no data, not an error
  }
}

/**
 * The text of the netns's /proc/net files `names` (sockstat, snmp, …), each null when absent. Through a
 * process: its /proc/<pid>/net, read directly. Through a bind mount: there is no /proc path to such a netns, but
 * /proc/self/net of a process in it shows it, so one `nsenter --net=<file> tail` reads them all (one spawn,
 * ≈ 2 ms, for a netns with no process only: every pod's netns has its sandbox process).
 */
export async function readNetnsFiles(
  procRoot: string,
  handle: NetnsHandle,
  names: readonly string[],
): Promise<(string | null)[]> {
  switch (handle.kind) {
    case "process":
      return names.map((name) => readOptional(`${procRoot}/${handle.pid}/net/${name}`));
    case "bind-mount": {
      // The spawned tail's own /proc (the agent's mount namespace), whatever procRoot points at.
      const paths = names.map((name) => `/proc/self/net/${name}`);
      const result = await execa(
        "nsenter",
        [`--net=${netnsFileOf(procRoot, handle)}`, "tail", "-v", "-n", "+1", "--", ...paths],
        { reject: false, timeout: 10_000, stdin: "ignore", maxBuffer: MAX_OUTPUT_BYTES },
      );
      // A missing file makes tail exit 1 after printing the others; a netns that is gone prints nothing.
      const texts = result.isMaxBuffer ? new Map<string, string>() : parseTailVerbose(String(result.stdout));
      return names.map((name) => texts.get(name) ?? null);
    }
    default: {
      const never: never = handle;
      throw new Error(`unknown netns handle ${JSON.stringify(never)}`);
    }
  }
}
