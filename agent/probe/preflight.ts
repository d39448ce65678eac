import { access, readFile } from "node:fs/promises";
import { execa } from "execa";
import { ProbeError, ProbeErrorCode } from "./probe-error.js";

export const MIN_BPFTRACE_VERSION = [0, 17, 0] as const;
const CAP_SYS_ADMIN = 21n;

export interface PreflightOptions {
  bpftrace: string;
  tracefs: string;
  /** The agent's own /proc (for its capabilities), not the host's. */
  selfProc: string;
  btf: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** `bpftrace v0.17.0` → [0, 17, 0]; null when the text holds no version. */
export function parseBpftraceVersion(text: string): [number, number, number] | null {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

function versionAtLeast(v: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < min.length; i++) {
    const a = v[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** `CapEff:\t000001ffffffffff` of /proc/<pid>/status → the capability bit set. */
export function parseEffectiveCapabilities(status: string): bigint | null {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : null;
}

/** Checks, in the order a user fixes them, that bpftrace can run the probes; throws the first problem. */
export async function preflight(opts: PreflightOptions): Promise<{ version: string }> {
  let versionText: string;
  try {
    versionText = (await execa(opts.bpftrace, ["--version"], { timeout: 10_000 })).stdout.trim();
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new ProbeError(
      ProbeErrorCode.BPFTRACE_MISSING,
      code === "ENOENT"
        ? `bpftrace not found (--bpftrace ${opts.bpftrace}): install it (apt-get install bpftrace) or pass its path with --bpftrace`
        : `bpftrace --version failed (--bpftrace ${opts.bpftrace}): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const version = parseBpftraceVersion(versionText);
  if (!version || !versionAtLeast(version, MIN_BPFTRACE_VERSION))
    throw new ProbeError(
      ProbeErrorCode.BPFTRACE_TOO_OLD,
      `bpftrace ${versionText || "(no version)"} is too old: tcpstate needs ${MIN_BPFTRACE_VERSION.join(".")} or newer`,
    );
  if (process.geteuid?.() !== 0)
    throw new ProbeError(
      ProbeErrorCode.NOT_ROOT,
      `tcpstate's agent must run as root (uid 0), it runs as uid ${process.geteuid?.()}: bpftrace refuses other users`,
    );
  const caps = parseEffectiveCapabilities(await readFile(`${opts.selfProc}/self/status`, "utf8"));
  if (caps !== null && (caps & (1n << CAP_SYS_ADMIN)) === 0n)
    throw new ProbeError(
      ProbeErrorCode.MISSING_CAP_SYS_ADMIN,
      "CAP_SYS_ADMIN is missing: bpftrace needs it to load programs and read kernel BTF (privileged pod or the capabilities the chart lists)",
    );
  if (!(await exists(`${opts.tracefs}/events`)))
    throw new ProbeError(
      ProbeErrorCode.TRACEFS_NOT_MOUNTED,
      `tracefs is not mounted at ${opts.tracefs}: mount -t tracefs nodev ${opts.tracefs} (or pass --tracefs)`,
    );
  if (!(await exists(`${opts.tracefs}/events/sock/inet_sock_set_state`)))
    throw new ProbeError(
      ProbeErrorCode.TRACEPOINT_MISSING,
      `the kernel has no tracepoint sock:inet_sock_set_state (${opts.tracefs}/events/sock/inet_sock_set_state): Linux 4.16 or newer is needed`,
    );
  if (!(await exists(opts.btf)))
    throw new ProbeError(
      ProbeErrorCode.BTF_MISSING,
      `kernel BTF is missing (${opts.btf}): tcpstate needs a kernel built with CONFIG_DEBUG_INFO_BTF=y`,
    );
  return { version: versionText };
}
