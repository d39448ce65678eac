/** Rule scopes: the namespace and workload globs users write, and how they hold up against hostile names. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { globMatch } from "../../../collector/alerts/scope.js";

/** The glob semantics spelled out as a recursion over (glob index, text index), memoised: obviously right. */
function referenceMatch(glob: string, text: string): boolean {
  const memo = new Map<number, boolean>();
  const at = (g: number, t: number): boolean => {
    const key = g * (text.length + 1) + t;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (g === glob.length) result = t === text.length;
    else if (glob[g] === "*") result = at(g + 1, t) || (t < text.length && at(g, t + 1));
    else result = t < text.length && (glob[g] === "?" || glob[g] === text[t]) && at(g + 1, t + 1);
    memo.set(key, result);
    return result;
  };
  return at(0, 0);
}

describe("scope globs", () => {
  it("`*` is any run (also empty), `?` exactly one character, the rest literal, the whole name", () => {
    expect(globMatch("*", "")).toBe(true);
    expect(globMatch("*", "payments")).toBe(true);
    expect(globMatch("", "")).toBe(true);
    expect(globMatch("", "a")).toBe(false);
    expect(globMatch("?", "")).toBe(false);
    expect(globMatch("pay*", "pay")).toBe(true);
    expect(globMatch("pay?", "pays")).toBe(true);
    expect(globMatch("pay?", "payments")).toBe(false);
    expect(globMatch("*ments", "payments")).toBe(true);
    expect(globMatch("pay", "payments")).toBe(false); // whole name, not a prefix
    expect(globMatch("ments", "payments")).toBe(false);
    expect(globMatch("Deployment/*-api", "Deployment/shop-api")).toBe(true);
    expect(globMatch("Deployment/*-api", "Deployment/shop-api-v2")).toBe(false);
    expect(globMatch("*-*-api", "Deployment/a-b-api")).toBe(true);
    expect(globMatch("*-*-api", "Deployment/a-api")).toBe(false);
    // Regular-expression syntax means nothing in a glob.
    expect(globMatch("a.b", "axb")).toBe(false);
    expect(globMatch("a.b", "a.b")).toBe(true);
    expect(globMatch("(a|b)+", "(a|b)+")).toBe(true);
    expect(globMatch("(a|b)+", "a")).toBe(false);
    expect(globMatch("[ab]", "a")).toBe(false);
    expect(globMatch("^a$", "^a$")).toBe(true);
  });

  it("agrees with the reference matcher on every small glob and name", () => {
    const over = fc.constantFrom("a", "b", "-", "*", "?");
    fc.assert(
      fc.property(
        fc.string({ unit: over, maxLength: 8 }),
        fc.string({ unit: over, maxLength: 10 }),
        (glob, text) => globMatch(glob, text) === referenceMatch(glob, text),
      ),
      { numRuns: 20_000 },
    );
  });

  // With `*` compiled to `.*` in a RegExp this took 10–30 s (backtracking over every split of the dashes),
  // blocking the collector's event loop all along; it has to come back at once now.
  it("answers for a long hostile workload name against a many-star glob", () => {
    const hostile = `Deployment/${"-".repeat(450)}${"x".repeat(160)}`;
    expect(globMatch("Deployment/*-*-*-*-api", hostile)).toBe(false);
    expect(globMatch("Deployment/*-*-*-*-api", `${hostile}-api`)).toBe(true);
  });
});
