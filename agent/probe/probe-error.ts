/** Why bpftrace cannot run here, with a stable code and a message that says how to fix it. */
export const ProbeErrorCode = {
  BPFTRACE_MISSING: "BPFTRACE_MISSING",
  BPFTRACE_TOO_OLD: "BPFTRACE_TOO_OLD",
  NOT_ROOT: "NOT_ROOT",
  MISSING_CAP_SYS_ADMIN: "MISSING_CAP_SYS_ADMIN",
  TRACEFS_NOT_MOUNTED: "TRACEFS_NOT_MOUNTED",
  TRACEPOINT_MISSING: "TRACEPOINT_MISSING",
  BTF_MISSING: "BTF_MISSING",
  BPFTRACE_FAILED: "BPFTRACE_FAILED",
} as const;
export type ProbeErrorCode = (typeof ProbeErrorCode)[keyof typeof ProbeErrorCode];

export class ProbeError extends Error {
  override readonly name = "ProbeError";
  constructor(
    readonly code: ProbeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Turns what bpftrace printed on stderr before it died into the same errors the preflight gives. */
export function classifyBpftraceStderr(stderr: string, tracefs: string): ProbeError {
  const firstError =
    stderr
      .split("\n")
      .find((l) => l.includes("ERROR:") && !l.includes("RLIMIT_MEMLOCK"))
      ?.trim() ?? stderr.trim().split("\n").at(-1);
  if (/^ERROR: \S+ not found$/m.test(stderr))
    return new ProbeError(
      ProbeErrorCode.BPFTRACE_MISSING,
      `${firstError}: install bpftrace or pass --bpftrace PATH`,
    );
  if (stderr.includes("only supports running as the root user"))
    return new ProbeError(ProbeErrorCode.NOT_ROOT, "bpftrace must run as root (uid 0): run tcpstate as root");
  // Without CAP_SYS_ADMIN bpftrace cannot read kernel BTF, so the struct casts fail to resolve.
  if (stderr.includes("Unknown struct/union"))
    return new ProbeError(
      ProbeErrorCode.MISSING_CAP_SYS_ADMIN,
      `bpftrace cannot resolve kernel structs (${firstError}): it needs CAP_SYS_ADMIN and kernel BTF (/sys/kernel/btf/vmlinux)`,
    );
  // bpftrace reports a missing tracefs as a missing tracepoint.
  if (stderr.includes("tracepoint not found"))
    return new ProbeError(
      ProbeErrorCode.TRACEPOINT_MISSING,
      `bpftrace found no tracepoint (${firstError}): is tracefs mounted at ${tracefs} (mount -t tracefs nodev ${tracefs}) and does the kernel (>= 4.16) have sock:inet_sock_set_state?`,
    );
  if (/Operation not permitted|Permission denied/.test(stderr))
    return new ProbeError(
      ProbeErrorCode.MISSING_CAP_SYS_ADMIN,
      `bpftrace was denied by the kernel (${firstError}): it needs CAP_SYS_ADMIN (or CAP_BPF + CAP_PERFMON) and root`,
    );
  return new ProbeError(ProbeErrorCode.BPFTRACE_FAILED, `bpftrace failed: ${firstError ?? "no message"}`);
}
