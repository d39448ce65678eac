/** The flag tables against the config schemas: `--help` shows the default the service uses. */
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { AgentConfigSchema } from "../../agent/config.js";
import { AGENT_FLAGS, agentCommand } from "../../cli/agent-command.js";
import { COLLECTOR_FLAGS, collectorCommand } from "../../cli/collector-command.js";
import { type Flag, withSchemaDefaults } from "../../cli/flag-table.js";
import { podCommand } from "../../cli/pod-command.js";
import { topCommand } from "../../cli/top-command.js";
import { CollectorConfigSchema } from "../../collector/config.js";
import { PodDetailQuerySchema, PodListQuerySchema } from "../../collector/query/query-params.js";
import { durationBounds, formatDuration } from "../../common/duration.js";

/** The config a service starts with given only the fields it requires. */
const AGENT_BASE = { nodeName: "n1" };
const COLLECTOR_BASE = { natsUrl: "nats://127.0.0.1:4222" };

const SERVICES = [
  {
    name: "agent",
    flags: AGENT_FLAGS,
    command: agentCommand,
    parse: (input: Record<string, unknown>) => AgentConfigSchema.parse({ ...AGENT_BASE, ...input }),
    schema: AgentConfigSchema,
    shape: AgentConfigSchema.in.shape,
    base: AGENT_BASE,
  },
  {
    name: "collector",
    flags: COLLECTOR_FLAGS,
    command: collectorCommand,
    parse: (input: Record<string, unknown>) => CollectorConfigSchema.parse({ ...COLLECTOR_BASE, ...input }),
    schema: CollectorConfigSchema,
    shape: CollectorConfigSchema.shape,
    base: COLLECTOR_BASE,
  },
] as const;

/** Commander's help line of a flag, folded onto one line. */
function helpOf(command: () => Command, flag: Flag): string {
  const entries = command()
    .helpInformation()
    .split(/\n {2}(?=-)/);
  const name = flag.flag.split(" ")[0] as string;
  return (entries.find((e) => e.startsWith(`${name} `)) ?? "").replace(/\s+/g, " ");
}

describe.each(SERVICES)("the $name flag table", ({ flags, command, parse, schema, shape, base }) => {
  const defaulted = flags.filter((f) => f.def !== undefined);

  it("gives most value flags a default", () => {
    // A table that lost its defaults would show none in --help; the schema defaults a dozen fields each.
    expect(defaulted.length).toBeGreaterThan(5);
  });

  it.each(defaulted.map((f) => [f.flag, f] as const))(
    "%s: the shown default is the one the service uses",
    (_, f) => {
      const def = f.def as string;
      expect(parse({ [f.key]: def })[f.key as never]).toEqual(parse({})[f.key as never]);
      expect(helpOf(command, f)).toContain(`default: "${def}"`);
    },
  );

  const durations = flags.flatMap((f) => {
    const field = (shape as Record<string, Parameters<typeof durationBounds>[0]>)[f.key];
    const bounds = field && durationBounds(field);
    return bounds ? [[f.flag, f, bounds] as const] : [];
  });

  it.each(durations)("%s: --help states the bounds the schema keeps", (_, f, { min, max }) => {
    const accepts = (ms: number) => schema.safeParse({ ...base, [f.key]: formatDuration(ms) }).success;
    expect([accepts(min - 1), accepts(min), accepts(max), accepts(max + 1)]).toEqual([
      false,
      true,
      true,
      false,
    ]);
    expect(helpOf(command, f)).toContain(`(${formatDuration(min)} to ${formatDuration(max)})`);
  });

  it("sets no env var twice", () => {
    expect(new Set(flags.map((f) => f.env)).size).toBe(flags.length);
  });
});

describe("withSchemaDefaults", () => {
  it("refuses a flag whose key the schema lacks (a renamed field)", () => {
    expect(() =>
      withSchemaDefaults([{ key: "intervall", flag: "--interval <d>", env: "INTERVAL", help: "" }], {}),
    ).toThrow(/flag --interval <d> has no config field intervall/);
  });
});

describe("the query commands' defaults", () => {
  it("tcpstate top asks for the API's default sort and window", () => {
    const top = topCommand();
    const api = PodListQuerySchema.parse({});
    const asked = PodListQuerySchema.parse({
      sort: top.getOptionValue("sort"),
      window: top.getOptionValue("window"),
    });
    expect([asked.sort, asked.window]).toEqual([api.sort, api.window]);
  });

  it("tcpstate pod asks for the API's default window", () => {
    const asked = PodDetailQuerySchema.parse({ window: podCommand().getOptionValue("window") });
    expect(asked.window).toBe(PodDetailQuerySchema.parse({}).window);
  });
});
