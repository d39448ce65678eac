import { describe, expect, it } from "vitest";
import { matchesSelector, parseLabelSelector } from "../../../collector/alerts/label-selector.js";
import { defaultRules, parseRulesFile, RulesFileError } from "../../../collector/alerts/rules-file.js";
import { globMatch, inScope, type PodIdentity } from "../../../collector/alerts/scope.js";

const FILE = "/etc/tcpstate/rules.yaml";

function problem(text: string): string {
  try {
    parseRulesFile(FILE, text);
  } catch (err) {
    expect(err).toBeInstanceOf(RulesFileError);
    return (err as Error).message;
  }
  throw new Error("expected the rules file to be rejected");
}

describe("rules file", () => {
  it("an empty file, or one without rules, is the defaults", () => {
    expect(parseRulesFile(FILE, "")).toEqual(defaultRules());
    expect(parseRulesFile(FILE, "rules: {}\n")).toEqual(defaultRules());
    expect(parseRulesFile(FILE, "rules:\n  TimeWaitBuildup:\n")).toEqual(defaultRules());
  });

  it("the defaults are those the README documents", () => {
    const d = defaultRules();
    expect(d.TimeWaitBuildup).toMatchObject({ severity: "warning", forMs: 120_000, holdDownMs: 120_000 });
    expect(d.TimeWaitBuildup).toMatchObject({ floor: 500, factor: 4, baselineWindowMs: 3_600_000 });
    expect(d.SynRecvBuildup).toMatchObject({ severity: "critical", forMs: 60_000, floor: 50, factor: 4 });
    expect(d.EphemeralPortPressure).toMatchObject({ ratio: 0.5, portRange: { low: 32768, high: 60999 } });
    expect(d.ConnectionChurnSpike).toMatchObject({ floor: 100, factor: 5, forMs: 120_000 });
    expect(d.CloseWaitLeak).toMatchObject({ floor: 20, forMs: 600_000, severity: "warning" });
  });

  it("overrides only the fields given, parses durations, scopes and selectors", () => {
    const rules = parseRulesFile(
      FILE,
      `rules:
  TimeWaitBuildup:
    enabled: true
    severity: critical
    for: 30s
    holdDown: 500ms
    floor: 100
    factor: 2.5
    baselineWindow: 1h30m
    runbookUrl: https://runbooks.example/tw
    scope:
      namespaces: ["payments", "shop-*"]
      excludeNamespaces: ["kube-system"]
      workloads: ["Deployment/api-*"]
      podLabels: "app=web,tier!=db"
  CloseWaitLeak: {enabled: false}
  EphemeralPortPressure: {ratio: 0.25, portRange: "1024-65535"}
`,
    );
    expect(rules.TimeWaitBuildup).toMatchObject({
      enabled: true,
      severity: "critical",
      forMs: 30_000,
      holdDownMs: 500,
      floor: 100,
      factor: 2.5,
      baselineWindowMs: 5_400_000,
      runbookUrl: "https://runbooks.example/tw",
    });
    expect(rules.TimeWaitBuildup.scope.namespaces).toEqual(["payments", "shop-*"]);
    expect(rules.TimeWaitBuildup.scope.podLabels).toHaveLength(2);
    expect(rules.CloseWaitLeak.enabled).toBe(false);
    expect(rules.CloseWaitLeak.floor).toBe(20);
    expect(rules.EphemeralPortPressure).toMatchObject({ ratio: 0.25, portRange: { low: 1024, high: 65535 } });
    expect(rules.SynRecvBuildup).toEqual(defaultRules().SynRecvBuildup);
  });

  it("buildup rules default to a cold-start floor and a danger level well above a steady pod's level", () => {
    const d = defaultRules();
    // A steady pod closing 20 connections/s first holds ~1,200 TIME_WAIT.
    expect(d.TimeWaitBuildup).toMatchObject({ coldStartFloor: 10_000, dangerLevel: 20_000 });
    expect(d.SynRecvBuildup).toMatchObject({ coldStartFloor: 50 });
    const rules = parseRulesFile(
      FILE,
      "rules:\n  TimeWaitBuildup: {coldStartFloor: 5000, dangerLevel: 30000}\n  SynRecvBuildup: {coldStartFloor: 80}\n",
    );
    expect(rules.TimeWaitBuildup).toMatchObject({ coldStartFloor: 5000, dangerLevel: 30_000, floor: 500 });
    expect(rules.SynRecvBuildup.coldStartFloor).toBe(80);
  });

  it("a bad cold-start floor or danger level names file, rule, field and value", () => {
    expect(problem("rules:\n  TimeWaitBuildup: {coldStartFloor: -1}\n")).toMatch(
      /^rules file \/etc\/tcpstate\/rules\.yaml: rule TimeWaitBuildup: field coldStartFloor: /,
    );
    expect(problem('rules:\n  SynRecvBuildup: {coldStartFloor: "many"}\n')).toContain(
      "rule SynRecvBuildup: field coldStartFloor: ",
    );
    // Under the floor, they would fire on levels the floor calls harmless.
    expect(problem("rules:\n  TimeWaitBuildup: {floor: 2000, dangerLevel: 1500}\n")).toBe(
      `rules file ${FILE}: rule TimeWaitBuildup: field dangerLevel: must be at least the floor (2000), got 1500`,
    );
    expect(problem("rules:\n  SynRecvBuildup: {floor: 60, coldStartFloor: 55}\n")).toBe(
      `rules file ${FILE}: rule SynRecvBuildup: field coldStartFloor: must be at least the floor (60), got 55`,
    );
    // A floor raised over a default level is no error: the floor applies (conditions test).
    expect(
      parseRulesFile(FILE, "rules:\n  SynRecvBuildup: {floor: 60}\n").SynRecvBuildup.coldStartFloor,
    ).toBe(50);
    // The SYN queue's danger level is its backlog: no field; churn has no cold-start floor.
    expect(problem("rules:\n  SynRecvBuildup: {dangerLevel: 100}\n")).toContain(
      "rule SynRecvBuildup: field dangerLevel: unknown field",
    );
    expect(problem("rules:\n  ConnectionChurnSpike: {coldStartFloor: 100}\n")).toContain(
      "rule ConnectionChurnSpike: field coldStartFloor: unknown field",
    );
  });

  it("an unknown field names the file, the rule and the field", () => {
    expect(problem("rules:\n  TimeWaitBuildup:\n    threshold: 5\n")).toBe(
      `rules file ${FILE}: rule TimeWaitBuildup: field threshold: unknown field`,
    );
    expect(problem("rules:\n  SynRecvBuildup:\n    scope: {namespace: [a]}\n")).toBe(
      `rules file ${FILE}: rule SynRecvBuildup: field scope.namespace: unknown field`,
    );
    expect(problem("rules:\n  CloseWaitLeak: {factor: 3}\n")).toContain(
      "rule CloseWaitLeak: field factor: unknown field",
    );
  });

  it("an unknown rule or top-level field is named", () => {
    expect(problem("rules:\n  TimeWaitBuildupp: {}\n")).toBe(
      `rules file ${FILE}: rule TimeWaitBuildupp: unknown rule (expected one of: TimeWaitBuildup, SynRecvBuildup, EphemeralPortPressure, ConnectionChurnSpike, CloseWaitLeak)`,
    );
    expect(problem("alerts: {}\n")).toContain(`rules file ${FILE}: field alerts: unknown field`);
  });

  it("a bad duration names rule and field and what was expected", () => {
    expect(problem("rules:\n  TimeWaitBuildup: {for: 2 minutes}\n")).toBe(
      `rules file ${FILE}: rule TimeWaitBuildup: field for: expected a duration like 5s, 500ms, 1m or 1h30m, got "2 minutes"`,
    );
    expect(problem("rules:\n  SynRecvBuildup: {holdDown: 120}\n")).toBe(
      `rules file ${FILE}: rule SynRecvBuildup: field holdDown: expected a duration like 5s, 500ms, 1m or 1h30m`,
    );
    expect(problem("rules:\n  ConnectionChurnSpike: {baselineWindow: 10ms}\n")).toContain(
      "rule ConnectionChurnSpike: field baselineWindow: must be between 1s and 168h",
    );
  });

  it("a bad selector names rule and field and the selector", () => {
    expect(problem('rules:\n  TimeWaitBuildup: {scope: {podLabels: "app in (web"}}\n')).toBe(
      `rules file ${FILE}: rule TimeWaitBuildup: field scope.podLabels: invalid label selector "app in (web": missing ")"`,
    );
    expect(problem('rules:\n  TimeWaitBuildup: {scope: {podLabels: "app=we b"}}\n')).toContain(
      "field scope.podLabels: invalid label selector",
    );
  });

  it("other bad values: severity, port range, ratio, YAML itself", () => {
    expect(problem("rules:\n  TimeWaitBuildup: {severity: Page Me}\n")).toContain(
      "rule TimeWaitBuildup: field severity: must be a lower-case word",
    );
    expect(problem('rules:\n  EphemeralPortPressure: {portRange: "60999-32768"}\n')).toContain(
      'field portRange: expected "low-high" within 1-65535, got "60999-32768"',
    );
    expect(problem("rules:\n  EphemeralPortPressure: {ratio: 2}\n")).toContain("field ratio:");
    expect(problem("rules: [\n")).toMatch(new RegExp(`^rules file ${FILE}: not valid YAML`));
    expect(problem("rules:\n  TimeWaitBuildup: {}\n  TimeWaitBuildup: {}\n")).toContain("not valid YAML");
  });

  it("reports every problem at once", () => {
    const msg = problem("rules:\n  TimeWaitBuildup: {floor: -1, for: soon}\n");
    expect(msg.split("\n")).toHaveLength(2);
  });
});

describe("label selectors", () => {
  const labels = { app: "web", tier: "frontend", "example.com/team": "pay" };

  it("matches equality, inequality, set and existence requirements like Kubernetes", () => {
    const m = (s: string, l: Record<string, string> = labels) => matchesSelector(parseLabelSelector(s), l);
    expect(m("app=web")).toBe(true);
    expect(m("app==web")).toBe(true);
    expect(m("app=api")).toBe(false);
    expect(m("tier!=db")).toBe(true);
    expect(m("db!=x")).toBe(true); // != matches pods without the key
    expect(m("app in (api, web)")).toBe(true);
    expect(m("app notin (web)")).toBe(false);
    expect(m("missing notin (web)")).toBe(true);
    expect(m("example.com/team")).toBe(true);
    expect(m("!canary")).toBe(true);
    expect(m("!app")).toBe(false);
    expect(m("app=web,tier in (frontend,backend),!canary")).toBe(true);
    expect(m("app=web,tier=backend")).toBe(false);
    expect(m("")).toBe(true);
  });

  it("rejects what Kubernetes rejects", () => {
    for (const bad of ["=web", "app in web", "app=(x)", "a b", "app=web,", "-app=x", "app in (a,b"])
      expect(() => parseLabelSelector(bad), bad).toThrow(/invalid label selector/);
    // An empty value is a value (Kubernetes allows it).
    expect(matchesSelector(parseLabelSelector("app="), { app: "" })).toBe(true);
    expect(matchesSelector(parseLabelSelector("app="), { app: "web" })).toBe(false);
  });
});

describe("scope", () => {
  const pod: PodIdentity = {
    namespace: "payments",
    pod: "api-1",
    workload: "Deployment/api-v2",
    node: "n1",
    labels: { app: "web" },
  };

  it("namespaces and workloads are globs; excludes win; labels by selector", () => {
    expect(globMatch("pay*", "payments")).toBe(true);
    expect(globMatch("pay?", "payments")).toBe(false);
    expect(globMatch("a.b", "axb")).toBe(false);
    expect(inScope({}, pod)).toBe(true);
    expect(inScope({ namespaces: ["shop", "pay*"] }, pod)).toBe(true);
    expect(inScope({ namespaces: ["shop"] }, pod)).toBe(false);
    expect(inScope({ namespaces: ["*"], excludeNamespaces: ["payments"] }, pod)).toBe(false);
    expect(inScope({ workloads: ["Deployment/api-*"] }, pod)).toBe(true);
    expect(inScope({ workloads: ["StatefulSet/*"] }, pod)).toBe(false);
    expect(inScope({ podLabels: parseLabelSelector("app=web") }, pod)).toBe(true);
    expect(inScope({ podLabels: parseLabelSelector("app!=web") }, pod)).toBe(false);
  });
});
