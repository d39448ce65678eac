import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { AgentConfigSchema } from "../../agent/config.js";
import { AGENT_FLAGS } from "../../cli/agent-command.js";
import { describeConfigIssues } from "../../cli/flag-table.js";
import { parseListenAddress } from "../../common/config-values.js";

/** The message the CLI prints for `input`, or null when the config is valid. */
function problems(input: Record<string, unknown>): string | null {
  const r = AgentConfigSchema.safeParse(input);
  return r.success ? null : describeConfigIssues(r.error, AGENT_FLAGS);
}

describe("parseListenAddress", () => {
  it("reads :port as every address", () => {
    expect(parseListenAddress(":9464")).toEqual({ host: "", port: 9464 });
  });

  it("reads an IPv4 host and port", () => {
    expect(parseListenAddress("127.0.0.1:9464")).toEqual({ host: "127.0.0.1", port: 9464 });
  });

  it("reads a bracketed IPv6 host and port without the brackets", () => {
    expect(parseListenAddress("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    expect(parseListenAddress("[::]:80")).toEqual({ host: "::", port: 80 });
  });

  it("reads a host name and port", () => {
    expect(parseListenAddress("localhost:8080")).toEqual({ host: "localhost", port: 8080 });
  });

  it.each(["9464", "::1:9464", "[::1]", "127.0.0.1:", ":65536", ":123456", "host:port", ""])(
    "rejects %j",
    (text) => {
      expect(parseListenAddress(text)).toBeNull();
    },
  );

  it("accepts the highest port", () => {
    expect(parseListenAddress(":65535")).toEqual({ host: "", port: 65535 });
  });
});

describe("AgentConfigSchema", () => {
  it("fills every default when only the node name is given", () => {
    const r = AgentConfigSchema.safeParse({ nodeName: "node-1" });
    expect(r.success).toBe(true);
    expect(r.data).toEqual({
      nodeName: "node-1",
      interval: 5000,
      metricsAddr: { host: "", port: 9464 },
      standalone: false,
      bpftrace: "bpftrace",
      procRoot: "/proc",
      netnsDir: "/var/run/netns",
      tracefs: "/sys/kernel/tracing",
      bufferWindows: 120,
      events: "on-demand",
      maxLabels: 16,
      eventsPerSecond: 10_000,
      httpEvents: "auto",
      logLevel: "info",
    });
  });

  it("reads flag values given as strings (as commander and env vars give them)", () => {
    const r = AgentConfigSchema.safeParse({
      nodeName: "ip-10-0-1-23.eu-west-1.compute.internal",
      interval: "1m",
      metricsAddr: "127.0.0.1:9100",
      maxLabels: "4",
      eventsPerSecond: "500",
      logLevel: "debug",
    });
    expect(r.success).toBe(true);
    expect(r.data).toMatchObject({
      nodeName: "ip-10-0-1-23.eu-west-1.compute.internal",
      interval: 60_000,
      metricsAddr: { host: "127.0.0.1", port: 9100 },
      maxLabels: 4,
      eventsPerSecond: 500,
      logLevel: "debug",
    });
  });

  it("uses the lower-cased hostname as the node name in standalone mode", () => {
    const r = AgentConfigSchema.safeParse({ standalone: true });
    expect(r.success).toBe(true);
    expect(r.data?.nodeName).toBe(hostname().toLowerCase());
  });

  it("prefers an explicit node name in standalone mode", () => {
    expect(AgentConfigSchema.safeParse({ standalone: true, nodeName: "lab-1" }).data?.nodeName).toBe("lab-1");
  });

  it("accepts the interval bounds 1s and 5m and nothing outside them", () => {
    expect(AgentConfigSchema.safeParse({ nodeName: "n", interval: "1s" }).data?.interval).toBe(1000);
    expect(AgentConfigSchema.safeParse({ nodeName: "n", interval: "5m" }).data?.interval).toBe(300_000);
    expect(AgentConfigSchema.safeParse({ nodeName: "n", interval: "999ms" }).success).toBe(false);
    expect(AgentConfigSchema.safeParse({ nodeName: "n", interval: "301s" }).success).toBe(false);
  });

  it("takes a compound interval as the chart's values allow it (1m30s)", () => {
    expect(AgentConfigSchema.safeParse({ nodeName: "n", interval: "1m30s" }).data?.interval).toBe(90_000);
    expect(AgentConfigSchema.safeParse({ nodeName: "n", interval: "4m59s999ms" }).data?.interval).toBe(
      299_999,
    );
  });
});

describe("describeConfigIssues: what the user reads for a bad agent config", () => {
  it("names --interval and INTERVAL and quotes a value that is no duration", () => {
    const msg = problems({ nodeName: "n", interval: "5 sec" });
    expect(msg).toContain("--interval (env INTERVAL)");
    expect(msg).toContain('"5 sec"');
  });

  it("names --interval and says the allowed range for an out-of-range interval", () => {
    const msg = problems({ nodeName: "n", interval: "10m" });
    expect(msg).toContain("--interval (env INTERVAL)");
    expect(msg).toContain("between 1s and 5m");
    expect(msg).toContain('"10m"');
  });

  it("names --metrics-addr and METRICS_ADDR and quotes the bad address", () => {
    const msg = problems({ nodeName: "n", metricsAddr: "9464" });
    expect(msg).toContain("--metrics-addr (env METRICS_ADDR)");
    expect(msg).toContain('"9464"');
  });

  it("names --node-name and NODE_NAME when the node name is missing outside standalone mode", () => {
    const msg = problems({});
    expect(msg).toContain("--node-name (env NODE_NAME)");
    expect(msg).toContain("required");
  });

  it("names --node-name when the node name is not a Kubernetes node name", () => {
    expect(problems({ nodeName: "Node_1" })).toContain("--node-name (env NODE_NAME)");
  });

  it("names --log-level and LOG_LEVEL for an unknown level", () => {
    expect(problems({ nodeName: "n", logLevel: "verbose" })).toContain("--log-level (env LOG_LEVEL)");
  });

  it("names --max-labels and MAX_LABELS for a non-number", () => {
    expect(problems({ nodeName: "n", maxLabels: "many" })).toContain("--max-labels (env MAX_LABELS)");
  });

  it("reports each bad flag on its own line", () => {
    const msg = problems({ nodeName: "n", interval: "soon", metricsAddr: "anywhere" }) ?? "";
    const lines = msg.split("\n");
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => l.startsWith("invalid --interval (env INTERVAL)"))).toBe(true);
    expect(lines.some((l) => l.startsWith("invalid --metrics-addr (env METRICS_ADDR)"))).toBe(true);
  });

  it("has nothing to say about a valid config", () => {
    expect(problems({ nodeName: "n" })).toBeNull();
  });
});
