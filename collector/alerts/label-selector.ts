/**
 * Kubernetes label selectors (`app=web,tier!=db,env in (prod,stage),!canary,team`): parsed once, matched
 * against a pod's labels. Same meaning as kubectl's: `!=` and `notin` also match pods without the key.
 */

export type Requirement =
  | { op: "exists"; key: string }
  | { op: "notExists"; key: string }
  | { op: "in"; key: string; values: string[] }
  | { op: "notIn"; key: string; values: string[] };

export type LabelSelector = readonly Requirement[];

/** A selector that cannot be parsed: what was expected, and where. */
export class SelectorError extends Error {
  override readonly name = "SelectorError";
  readonly code = "BAD_SELECTOR";
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkKey(key: string, text: string): string {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : null;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (!NAME.test(name) || (prefix !== null && (prefix.length > 253 || !PREFIX.test(prefix))))
    throw new SelectorError(
      `invalid label selector "${text}": "${key}" is not a label key (name: letters, digits, -_. up to 63, optional dns-prefix/)`,
    );
  return key;
}

function checkValue(value: string, text: string): string {
  if (value !== "" && !NAME.test(value))
    throw new SelectorError(
      `invalid label selector "${text}": "${value}" is not a label value (letters, digits, -_. up to 63)`,
    );
  return value;
}

/** Splits on commas outside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    if (depth < 0 || depth > 1) throw new SelectorError(`invalid label selector "${text}": unbalanced "("`);
    if (c === "," && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw new SelectorError(`invalid label selector "${text}": missing ")"`);
  terms.push(text.slice(start));
  return terms.map((t) => t.trim());
}

export function parseLabelSelector(text: string): LabelSelector {
  if (text.trim() === "") return [];
  const out: Requirement[] = [];
  for (const term of splitTerms(text)) {
    if (term === "") throw new SelectorError(`invalid label selector "${text}": empty requirement`);
    let m = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term);
    if (m) {
      const values = (m[3] as string).split(",").map((v) => checkValue(v.trim(), text));
      out.push({ op: m[2] === "in" ? "in" : "notIn", key: checkKey(m[1] as string, text), values });
      continue;
    }
    m = /^([^\s=!]+)\s*(==|=|!=)\s*([^\s=!,]*)$/.exec(term);
    if (m) {
      const key = checkKey(m[1] as string, text);
      const values = [checkValue(m[3] as string, text)];
      out.push(m[2] === "!=" ? { op: "notIn", key, values } : { op: "in", key, values });
      continue;
    }
    m = /^(!?)\s*([^\s=!(),]+)$/.exec(term);
    if (m) {
      const key = checkKey(m[2] as string, text);
      out.push(m[1] ? { op: "notExists", key } : { op: "exists", key });
      continue;
    }
    throw new SelectorError(
      `invalid label selector "${text}": cannot read "${term}" (expected key, !key, key=value, key!=value, key in (a,b) or key notin (a,b))`,
    );
  }
  return out;
}

export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const r of selector) {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.op) {
      case "exists":
        if (!has) return false;
        break;
      case "notExists":
        if (has) return false;
        break;
      case "in":
        if (!has || !r.values.includes(value as string)) return false;
        break;
      case "notIn":
        if (has && r.values.includes(value as string)) return false;
        break;
      default: {
        const never: never = r;
        throw new Error(`unknown requirement ${JSON.stringify(never)}`);
      }
    }
  }
  return true;
}
