/**
 * The chart value sweep: every value of values.schema.json that reaches the agent or the collector, with values
 * the binary accepts and values it refuses, rendered by the real `helm template` and the rendered env parsed by
 * the binary's own config schema. A value the chart installs is a value the binary starts with, a value the
 * binary refuses the chart refuses (at `helm install`, not in a crash loop), and the defaults agree.
 * Duration bounds, which a schema pattern cannot state, the chart checks in templates/_duration-bounds.tpl.
 */
import { describe, expect, it } from "vitest";
import { AgentConfigSchema } from "../../agent/config.js";
import { AGENT_FLAGS } from "../../cli/agent-command.js";
import { COLLECTOR_FLAGS } from "../../cli/collector-command.js";
import type { Flag } from "../../cli/flag-table.js";
import { CollectorConfigSchema } from "../../collector/config.js";
import { container, type K8sObject, one, render, renderError } from "./chart.js";

type Component = "agent" | "collector";

/** A node's address, as the kubelet expands $(POD_IP) in the agent's METRICS_ADDR. */
const POD_IP = "10.1.2.3";

const SERVICE = {
  agent: {
    kind: "DaemonSet",
    flags: AGENT_FLAGS,
    // NODE_NAME comes from the downward API (valueFrom): the kubelet's value.
    parse: (input: Record<string, unknown>) => AgentConfigSchema.safeParse({ nodeName: "node-1", ...input }),
  },
  collector: {
    kind: "Deployment",
    flags: COLLECTOR_FLAGS,
    parse: (input: Record<string, unknown>) =>
      CollectorConfigSchema.safeParse({ natsUrl: "nats://nats:4222", ...input }),
  },
} as const;

/** A chart value, the config field it sets, and how the binary is given the same value directly. */
interface SweptValue {
  value: string;
  component: Component;
  key: string;
  valid: (string | number)[];
  invalid: (string | number)[];
  /**
   * Values the binary takes and the chart refuses, on purpose: port 0 (any free port) serves tests and
   * `tcpstate local`, but in a cluster the probes, the Service and Prometheus need the port known in advance.
   */
  chartOnly?: (string | number)[];
  /** The flag's text for a chart value (a port → an address); the value itself otherwise. */
  asFlag?: (v: string | number) => string;
  /** The part of the parsed field the chart decides (the port of an address). */
  field?: (parsed: unknown) => unknown;
}

const port = (v: string | number) => `:${v}`;
const portOf = (a: unknown) => (a as { port: number }).port;
const SINK_URLS = {
  valid: ["http://am:9093", "https://hooks.example.com/x?y=1"],
  invalid: ["ftp://am", "http://a b", "am:9093"],
};

const SWEEP: SweptValue[] = [
  {
    value: "agent.interval",
    component: "agent",
    key: "interval",
    valid: ["1s", "1m30s", "5m", "300000ms"],
    invalid: ["999ms", "5m1s", "1h", "90", "5 s"],
  },
  {
    value: "agent.logLevel",
    component: "agent",
    key: "logLevel",
    valid: ["trace", "fatal"],
    invalid: ["verbose"],
  },
  {
    value: "agent.events",
    component: "agent",
    key: "events",
    valid: ["on-demand", "always", "off"],
    invalid: ["sometimes"],
  },
  {
    value: "agent.eventsPerSecond",
    component: "agent",
    key: "eventsPerSecond",
    valid: [1, 1_000_000],
    invalid: [0, 1_000_001],
  },
  {
    value: "agent.bufferWindows",
    component: "agent",
    key: "bufferWindows",
    valid: [1, 100_000],
    invalid: [0, 100_001],
  },
  { value: "agent.maxLabels", component: "agent", key: "maxLabels", valid: [0, 64], invalid: [-1, 65] },
  {
    value: "agent.metricsPort",
    component: "agent",
    key: "metricsAddr",
    valid: [1, 65535],
    invalid: [65536],
    chartOnly: [0],
    asFlag: port,
    field: portOf,
  },
  {
    value: "collector.logLevel",
    component: "collector",
    key: "logLevel",
    valid: ["debug", "fatal"],
    invalid: ["loud"],
  },
  {
    value: "collector.port",
    component: "collector",
    key: "listen",
    valid: [1, 65535],
    invalid: [65536],
    chartOnly: [0],
    asFlag: port,
    field: portOf,
  },
  {
    value: "collector.retention",
    component: "collector",
    key: "retention",
    valid: ["1m", "720h", "1h30m"],
    invalid: ["59s", "721h", "1d"],
  },
  {
    value: "collector.duplicateWindow",
    component: "collector",
    key: "duplicateWindow",
    valid: ["1m", "24h"],
    invalid: ["59s", "24h1ms"],
  },
  {
    value: "collector.history",
    component: "collector",
    key: "history",
    valid: ["1m", "168h"],
    invalid: ["30s", "169h"],
  },
  {
    value: "collector.maxBytes",
    component: "collector",
    key: "maxBytes",
    valid: [-1, 0, 1_048_576],
    invalid: [-2],
  },
  {
    value: "collector.maxExportedPods",
    component: "collector",
    key: "maxExportedPods",
    valid: [1, 1_000_000],
    invalid: [0, 1_000_001],
  },
  { value: "collector.alertmanager.url", component: "collector", key: "alertmanagerUrl", ...SINK_URLS },
  { value: "collector.webhook.url", component: "collector", key: "webhookUrl", ...SINK_URLS },
  { value: "collector.alertmanagerUrl", component: "collector", key: "alertmanagerUrl", ...SINK_URLS },
  { value: "collector.webhookUrl", component: "collector", key: "webhookUrl", ...SINK_URLS },
];

/** Env the chart sets to fixed values (mount points, the rules file, NATS wiring), not from a swept value. */
const FIXED_ENV = [
  "PROC_ROOT",
  "TRACEFS",
  "CGROUP_ROOT",
  "NETNS_DIR",
  "RULES",
  "NATS_URL",
  "NATS_USER",
  "NATS_PASSWORD_FILE",
];

/** The rendered container's plain env, as the binary's config input (keys by the flag table's env names). */
function configInput(objects: K8sObject[], component: Component): Record<string, string> {
  const { kind, flags } = SERVICE[component];
  const c = container(one(objects, kind, `-${component}`), component);
  const input: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value === undefined) continue;
    const flag = flags.find((f: Flag) => f.env === e.name);
    if (!flag) throw new Error(`the chart sets ${e.name}, which the ${component} does not read`);
    input[flag.key] = String(e.value).replace("$(POD_IP)", POD_IP);
  }
  return input;
}

/** The binary's config from a rendered chart, or its refusal. */
function renderedConfig(component: Component, set: Record<string, string>) {
  const objects = render({ set });
  const input = configInput(objects, component);
  return { input, parsed: SERVICE[component].parse(input) };
}

function direct(s: SweptValue, v: string | number) {
  return SERVICE[s.component].parse({ [s.key]: s.asFlag ? s.asFlag(v) : String(v) });
}

/** helm's refusal of the value (it names the value). */
const chartRefusal = (s: SweptValue, v: string | number) => renderError({ set: { [s.value]: String(v) } });

const fieldOf = (s: SweptValue, config: Record<string, unknown>) =>
  s.field ? s.field(config[s.key]) : config[s.key];

describe.each(SWEEP)("$value", (s) => {
  it.each(s.valid)("accepts %s: the chart installs it and the binary reads the same value", (v) => {
    const { parsed } = renderedConfig(s.component, { [s.value]: String(v) });
    expect(parsed.error?.issues ?? []).toEqual([]);
    const alone = direct(s, v);
    expect(alone.success).toBe(true);
    expect(fieldOf(s, parsed.data as Record<string, unknown>)).toEqual(
      fieldOf(s, alone.data as Record<string, unknown>),
    );
  });

  it.each(s.invalid)("refuses %s: the binary would, so the chart does", (v) => {
    expect(direct(s, v).success).toBe(false);
    expect(chartRefusal(s, v)).toMatch(new RegExp(s.value.split(".").pop() as string));
  });

  it.each(s.chartOnly ?? [])("refuses %s, which the binary takes outside a cluster", (v) => {
    expect(direct(s, v).success).toBe(true);
    expect(chartRefusal(s, v)).toMatch(new RegExp(s.value.split(".").pop() as string));
  });
});

describe("the chart's defaults", () => {
  const objects = render();

  it.each(["agent", "collector"] as const)(
    "are the %s's defaults, except where the chart says why",
    (component) => {
      const input = configInput(objects, component);
      const fromChart = SERVICE[component].parse(input);
      const binaryDefaults = SERVICE[component].parse({});
      expect(fromChart.success && binaryDefaults.success).toBe(true);
      // The chart's own choices: mount points inside the pod, the rules file it mounts, the NATS it wires, the
      // stream bound from nats.jetstream.storageSize (maxBytes: auto), the loopback metrics address.
      const chartChoices = new Set([
        "procRoot",
        "tracefs",
        "cgroupRoot",
        "netnsDir",
        "rules",
        "natsUrl",
        "natsUser",
        "natsPasswordFile",
        "maxBytes",
      ]);
      for (const s of SWEEP.filter(
        (x) => x.component === component && !chartChoices.has(x.key) && x.key in input,
      ))
        expect([s.value, fieldOf(s, fromChart.data as Record<string, unknown>)]).toEqual([
          s.value,
          fieldOf(s, binaryDefaults.data as Record<string, unknown>),
        ]);
    },
  );

  it.each(["agent", "collector"] as const)("the %s's env is swept or fixed by the chart", (component) => {
    const input = configInput(
      render({ set: { "collector.webhook.url": "http://w:1", "collector.alertmanager.url": "http://a:1" } }),
      component,
    );
    const flags = SERVICE[component].flags;
    const swept = new Set(SWEEP.filter((x) => x.component === component).map((x) => x.key));
    const unswept = Object.keys(input).filter(
      (key) => !swept.has(key) && !FIXED_ENV.includes(flags.find((f) => f.key === key)?.env ?? ""),
    );
    expect(unswept).toEqual([]);
  });
});
