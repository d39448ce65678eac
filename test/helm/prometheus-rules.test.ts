/**
 * The chart's PrometheusRule through Prometheus's own tool: `promtool check rules` on the rendered expressions
 * and `promtool test rules` with synthetic series (fixtures/prometheus-rules-*tests.yaml).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { CI_VALUES, MONITORING_API, one, type RenderOptions, render } from "./chart.js";

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), "fixtures");
const FIXTURE = path.join(FIXTURES, "prometheus-rules-tests.yaml");
/** Buildups present from the start, a steady pod, a slow leak, danger levels, a full SYN queue, SYN cookies. */
const FIRST_MINUTE = path.join(FIXTURES, "prometheus-rules-first-minute-tests.yaml");
const dir = mkdtempSync(path.join(tmpdir(), "tcpstate-promtool-"));

/** The rendered PrometheusRule's groups as a Prometheus rule file; returns its path. */
function ruleFile(name: string, o: RenderOptions): string {
  const rule = one(render({ ...o, apiVersions: [MONITORING_API] }), "PrometheusRule");
  const file = path.join(dir, name);
  writeFileSync(file, stringify({ groups: rule.spec.groups }));
  return file;
}

function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync("promtool", args, { encoding: "utf8", cwd: dir });
  if (r.error) throw new Error(`promtool could not run (apt-get install prometheus): ${r.error.message}`);
  return { status: r.status, output: r.stdout + r.stderr };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("PrometheusRule (promtool)", () => {
  it("passes promtool check rules with the default rules and with every ci/*.yaml", () => {
    for (const valuesFiles of [[], ...CI_VALUES.map((f) => [f])]) {
      const file = ruleFile("check.yaml", {
        valuesFiles,
        set: { "monitoring.prometheusRule.enabled": "true" },
      });
      const r = promtool(["check", "rules", file]);
      expect(r.status, `${valuesFiles.join(" ") || "defaults"}:\n${r.output}`).toBe(0);
      const expected = valuesFiles.includes("ci/custom-rules-values.yaml") ? 4 : 5;
      expect(r.output).toContain(`SUCCESS: ${expected} rules found`);
    }
  });

  it("fires TimeWaitBuildup for a buildup pod, not a steady one, and each other rule (promtool test rules)", () => {
    ruleFile("rules.yaml", { set: { "monitoring.prometheusRule.enabled": "true" } });
    copyFileSync(FIXTURE, path.join(dir, "tests.yaml"));
    const r = promtool(["test", "rules", "tests.yaml"]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain("SUCCESS");
  });

  it("a promtool test that expects the wrong alert fails (the unit test can fail)", () => {
    ruleFile("rules.yaml", {
      set: { "monitoring.prometheusRule.enabled": "true", "alerts.rules.TimeWaitBuildup.floor": "5000" },
    });
    copyFileSync(FIXTURE, path.join(dir, "tests.yaml"));
    const r = promtool(["test", "rules", "tests.yaml"]);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain("alertname: TimeWaitBuildup");
  });

  it("fires from the first minute like the collector: a pod at 14,400 TIME_WAIT from the start, a SYN queue at its backlog naming its port, SYN cookies, a slow leak to 10x; a steady pod at 1,100 never", () => {
    ruleFile("rules.yaml", { set: { "monitoring.prometheusRule.enabled": "true" } });
    copyFileSync(FIRST_MINUTE, path.join(dir, "tests.yaml"));
    const r = promtool(["test", "rules", "tests.yaml"]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain("SUCCESS");
  });

  it("without the cold-start floor (raised out of reach) the pod at 14,400 from the start does not fire: the test can fail", () => {
    ruleFile("rules.yaml", {
      set: {
        "monitoring.prometheusRule.enabled": "true",
        "alerts.rules.TimeWaitBuildup.coldStartFloor": "1000000",
      },
    });
    copyFileSync(FIRST_MINUTE, path.join(dir, "tests.yaml"));
    const r = promtool(["test", "rules", "tests.yaml"]);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/alertname: TimeWaitBuildup, time: 3m/);
  });
});
