/** Which pods a rule applies to: namespace and workload globs, and a label selector. */
import { type LabelSelector, matchesSelector } from "./label-selector.js";

/** The identity of a pod as rules see it. */
export interface PodIdentity {
  namespace: string;
  pod: string;
  /** "Kind/name", or "" for a pod without a controller (and for unlabelled netns). */
  workload: string;
  node: string;
  labels: Readonly<Record<string, string>>;
}

export interface Scope {
  namespaces?: readonly string[];
  excludeNamespaces?: readonly string[];
  workloads?: readonly string[];
  podLabels?: LabelSelector;
}

/**
 * `*` any run of characters (also none), `?` one character, the rest literal; the whole text must match.
 * Two pointers that only remember the last `*`: a later `*` subsumes every earlier choice, so a mismatch
 * retries from there alone. O(glob × text) at worst, with no RegExp to backtrack on hostile workload names.
 */
export function globMatch(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1; // index in glob of the last `*` seen, -1 before any
  let starText = 0; // where in text that `*`'s run currently ends
  while (t < text.length) {
    const c = glob[g];
    if (c === "*") {
      star = g++;
      starText = t;
    } else if (c !== undefined && (c === "?" || c === text[t])) {
      g++;
      t++;
    } else if (star >= 0) {
      // Let the last `*` take one more character and retry the rest of the glob after it.
      g = star + 1;
      t = ++starText;
    } else return false;
  }
  while (glob[g] === "*") g++;
  return g === glob.length;
}

const anyGlob = (globs: readonly string[], text: string) => globs.some((g) => globMatch(g, text));

export function inScope(scope: Scope, pod: PodIdentity): boolean {
  if (scope.namespaces && !anyGlob(scope.namespaces, pod.namespace)) return false;
  if (scope.excludeNamespaces && anyGlob(scope.excludeNamespaces, pod.namespace)) return false;
  if (scope.workloads && !anyGlob(scope.workloads, pod.workload)) return false;
  if (scope.podLabels && !matchesSelector(scope.podLabels, pod.labels)) return false;
  return true;
}
