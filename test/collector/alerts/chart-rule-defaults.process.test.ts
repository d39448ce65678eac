/**
 * The chart writes its own rules file (helm/tcpstate/templates/_helpers.tpl, tcpstate.ruleDefaults): it must be
 * the binary's defaults, or a chart install would alert differently from `tcpstate collector` without --rules.
 */
import { describe, expect, it } from "vitest";
import { defaultRules, parseRulesFile, RULE_NAMES } from "../../../collector/alerts/rules-file.js";
import { one, render } from "../../helm/chart.js";

describe("chart rule defaults", () => {
  it("the chart's rules file parses to the binary's defaults (runbook links aside)", () => {
    const cm = one(render(), "ConfigMap", "-collector-rules");
    const fromChart = parseRulesFile("chart rules.yaml", cm.data["rules.yaml"]);
    const defaults = defaultRules();
    for (const name of RULE_NAMES)
      expect({ ...fromChart[name], runbookUrl: "" }, name).toEqual({ ...defaults[name], runbookUrl: "" });
  });

  it("the chart accepts the buildup rules' cold-start floor and danger level", () => {
    const cm = one(
      render({
        set: {
          "alerts.rules.TimeWaitBuildup.coldStartFloor": "8000",
          "alerts.rules.TimeWaitBuildup.dangerLevel": "25000",
          "alerts.rules.SynRecvBuildup.coldStartFloor": "100",
        },
      }),
      "ConfigMap",
      "-collector-rules",
    );
    const rules = parseRulesFile("chart rules.yaml", cm.data["rules.yaml"]);
    expect(rules.TimeWaitBuildup).toMatchObject({ coldStartFloor: 8000, dangerLevel: 25_000 });
    expect(rules.SynRecvBuildup.coldStartFloor).toBe(100);
  });
});
