import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ProbeLine, parseProbeLine } from "../../../agent/probe/probe-line.js";

/*
 * test/fixtures/destinations/transitions-0.17.txt is verbatim stdout of bpftrace 0.17 running
 * agent/probe/transitions.bt on this machine while connects.py made refused connects in a fresh network
 * namespace (capture.sh): 3 to 10.0.0.7:5432 and 2 to [fd00::1]:80. Its inode is in capture.json.
 */
const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/destinations/${name}`, import.meta.url), "utf8");
const capture = JSON.parse(fixture("capture.json")) as { netns: number };
const output = fixture("transitions-0.17.txt");

type Destination = Extract<ProbeLine, { type: "destination" }>;
const destinationsOf = (text: string): Destination[] =>
  text
    .split("\n")
    .map(parseProbeLine)
    .filter((l): l is Destination => l.type === "destination");

describe("parseProbeLine: connect destination lines (@dN)", () => {
  it("reads an IPv4 destination, shown without its ::ffff: prefix", () => {
    expect(parseProbeLine("@d0[4026531840, 1234, ::ffff:10.0.0.7, 5432]: 3")).toEqual({
      type: "destination",
      netns: 4026531840,
      cgroup: 1234,
      address: "10.0.0.7",
      port: 5432,
      count: 3,
    });
  });

  it("reads an IPv6 destination as it is", () => {
    expect(parseProbeLine("@d1[4026531840, 1234, fd00::1, 80]: 2")).toEqual({
      type: "destination",
      netns: 4026531840,
      cgroup: 1234,
      address: "fd00::1",
      port: 80,
      count: 2,
    });
  });

  it.each(["@d0", "@d1", "@d2"])("reads destinations of every epoch map (%s)", (map) => {
    expect(parseProbeLine(`${map}[1, 2, ::1, 443]: 1`)).toMatchObject({
      type: "destination",
      address: "::1",
    });
  });

  it("keeps an IPv6 address that merely starts with ::ffff: but is not v4-mapped", () => {
    expect(parseProbeLine("@d0[1, 2, ::ffff:a00:7, 80]: 1")).toMatchObject({ address: "::ffff:a00:7" });
  });

  it("reads the IPv6 any address and a v4-mapped any address", () => {
    expect(parseProbeLine("@d0[1, 2, ::, 80]: 1")).toMatchObject({ address: "::" });
    expect(parseProbeLine("@d0[1, 2, ::ffff:0.0.0.0, 80]: 1")).toMatchObject({ address: "0.0.0.0" });
  });

  it("reads port 0 and 65535 and large counts", () => {
    expect(parseProbeLine("@d0[1, 2, 10.0.0.1, 0]: 1")).toMatchObject({ port: 0 });
    expect(parseProbeLine("@d0[1, 2, 10.0.0.1, 65535]: 4000000000")).toMatchObject({
      port: 65535,
      count: 4000000000,
    });
  });

  it("still reads @cN lines as transition counts", () => {
    expect(parseProbeLine("@c0[4026531840, 1234, 7, 2]: 3")).toEqual({
      type: "count",
      netns: 4026531840,
      cgroup: 1234,
      oldState: 7,
      newState: 2,
      count: 3,
    });
  });
});

describe("parseProbeLine: malformed destination lines", () => {
  it.each([
    ["no brackets", "@d0 4026531840, 1234, fd00::1, 80: 2"],
    ["no closing bracket and colon", "@d0[4026531840, 1234, fd00::1, 80 2"],
    ["three key fields", "@d0[4026531840, fd00::1, 80]: 2"],
    ["five key fields", "@d0[4026531840, 1234, 5, fd00::1, 80]: 2"],
    ["a negative netns", "@d0[-1, 1234, fd00::1, 80]: 2"],
    ["a cgroup that is not a number", "@d0[4026531840, root, fd00::1, 80]: 2"],
    ["a port that is not a number", "@d0[4026531840, 1234, fd00::1, http]: 2"],
    ["an empty port", "@d0[4026531840, 1234, fd00::1, ]: 2"],
    ["no count", "@d0[4026531840, 1234, fd00::1, 80]: "],
    ["a count followed by text", "@d0[4026531840, 1234, fd00::1, 80]: 2x"],
    ["a fractional count", "@d0[4026531840, 1234, fd00::1, 80]: 2.5"],
    ["an empty address", "@d0[4026531840, 1234, , 80]: 2"],
    ["key fields without the space after the comma", "@d0[4026531840,1234,fd00::1,80]: 2"],
  ])("reports %s as malformed, with the line and a reason", (_what, line) => {
    const parsed = parseProbeLine(line);
    expect(parsed.type).toBe("malformed");
    expect(parsed).toMatchObject({ line });
    expect((parsed as Extract<ProbeLine, { type: "malformed" }>).reason).not.toBe("");
  });
});

describe("parseProbeLine: destination lines of real transitions.bt output", () => {
  it("reads every @d line of the capture as a destination", () => {
    const dLines = output.split("\n").filter((l) => l.startsWith("@d"));
    expect(dLines.length).toBeGreaterThan(0);
    for (const line of dLines) expect(parseProbeLine(line).type, line).toBe("destination");
  });

  it("finds connects.py's destinations in its netns: 3 × 10.0.0.7:5432 and 2 × [fd00::1]:80", () => {
    const counts = new Map<string, number>();
    for (const d of destinationsOf(output).filter((d) => d.netns === capture.netns)) {
      const key = `${d.address} ${d.port}`;
      counts.set(key, (counts.get(key) ?? 0) + d.count);
    }
    expect(counts).toEqual(
      new Map([
        ["fd00::1 80", 2],
        ["10.0.0.7 5432", 3],
      ]),
    );
  });

  it("counts as many destination connects in the netns as CLOSE→SYN_SENT transitions", () => {
    const lines = output.split("\n").map(parseProbeLine);
    const synSent = lines
      .filter((l): l is Extract<ProbeLine, { type: "count" }> => l.type === "count")
      .filter((l) => l.netns === capture.netns && l.oldState === 7 && l.newState === 2)
      .reduce((sum, l) => sum + l.count, 0);
    const connects = destinationsOf(output)
      .filter((d) => d.netns === capture.netns)
      .reduce((sum, d) => sum + d.count, 0);
    expect(connects).toBe(synSent);
    expect(connects).toBe(5);
  });

  it("parses the whole capture without a malformed line", () => {
    const malformed = output
      .split("\n")
      .map(parseProbeLine)
      .filter((l) => l.type === "malformed");
    expect(malformed).toEqual([]);
  });
});
