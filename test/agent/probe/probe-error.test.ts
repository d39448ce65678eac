import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { classifyBpftraceStderr, ProbeErrorCode } from "../../../agent/probe/probe-error.js";

/* What bpftrace 0.17 printed on stderr here (test/fixtures/bpftrace/capture-stderr.sh), verbatim. */
const stderr = (name: string) =>
  readFileSync(new URL(`../../fixtures/bpftrace/stderr-${name}-0.17.txt`, import.meta.url), "utf8");
const TRACEFS = "/sys/kernel/tracing";

describe("classifyBpftraceStderr on real bpftrace 0.17 failures", () => {
  it("says bpftrace must run as root when it was started by another user", () => {
    const text = stderr("not-root");
    expect(text).toContain("ERROR: bpftrace currently only supports running as the root user.");
    const err = classifyBpftraceStderr(text, TRACEFS);
    expect(err.code).toBe(ProbeErrorCode.NOT_ROOT);
    expect(err.message).toContain("root");
  });

  it("blames missing CAP_SYS_ADMIN when struct sock does not resolve, quoting the struct error, not the RLIMIT_MEMLOCK line", () => {
    const text = stderr("no-cap-sys-admin");
    expect(text).toContain("RLIMIT_MEMLOCK");
    const err = classifyBpftraceStderr(text, TRACEFS);
    expect(err.code).toBe(ProbeErrorCode.MISSING_CAP_SYS_ADMIN);
    expect(err.message).toContain("transitions.bt:29:11-26: ERROR: Unknown struct/union: 'struct sock'");
    expect(err.message).toContain("CAP_SYS_ADMIN");
    expect(err.message).not.toContain("RLIMIT_MEMLOCK");
  });

  it("says the tracepoint is missing and how to mount tracefs at the configured path, without the RLIMIT_MEMLOCK line", () => {
    const text = stderr("no-tracefs");
    const err = classifyBpftraceStderr(text, "/host/sys/kernel/tracing");
    expect(err.code).toBe(ProbeErrorCode.TRACEPOINT_MISSING);
    expect(err.message).toContain(
      "transitions.bt:18-20: ERROR: tracepoint not found: sock:inet_sock_set_state",
    );
    expect(err.message).toContain("mount -t tracefs nodev /host/sys/kernel/tracing");
    expect(err.message).not.toContain("RLIMIT_MEMLOCK");
  });

  it("reports any other failure as is, with its first real error rather than the harmless RLIMIT_MEMLOCK line", () => {
    const err = classifyBpftraceStderr(stderr("program-error"), TRACEFS);
    expect(err.code).toBe(ProbeErrorCode.BPFTRACE_FAILED);
    expect(err.message).toBe("bpftrace failed: stdin:1:24-26: ERROR: Undefined or undeclared variable: $x");
  });
});

describe("classifyBpftraceStderr on other stderr", () => {
  it("says bpftrace is missing when the binary could not be started", () => {
    const err = classifyBpftraceStderr("ERROR: /opt/bpftrace/bin/bpftrace not found", TRACEFS);
    expect(err.code).toBe(ProbeErrorCode.BPFTRACE_MISSING);
    expect(err.message).toContain("/opt/bpftrace/bin/bpftrace");
    expect(err.message).toContain("--bpftrace");
  });

  it("blames permissions when the kernel refused an operation", () => {
    const text = "ERROR: failed to attach probe: Operation not permitted\n";
    expect(classifyBpftraceStderr(text, TRACEFS).code).toBe(ProbeErrorCode.MISSING_CAP_SYS_ADMIN);
  });

  it("falls back to the last line when no line says ERROR", () => {
    const err = classifyBpftraceStderr("something\nSegmentation fault\n", TRACEFS);
    expect(err.code).toBe(ProbeErrorCode.BPFTRACE_FAILED);
    expect(err.message).toBe("bpftrace failed: Segmentation fault");
  });

  it("never picks the RLIMIT_MEMLOCK line as the reason when it is all there is besides a non-ERROR line", () => {
    const rlimit = stderr("no-tracefs").split("\n")[0] as string;
    expect(rlimit).toContain("RLIMIT_MEMLOCK");
    const err = classifyBpftraceStderr(`${rlimit}\nKilled\n`, TRACEFS);
    expect(err.message).toBe("bpftrace failed: Killed");
  });
});
