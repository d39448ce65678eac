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

const globCache = new Map<string, RegExp>();

/** `*` any run of characters, `?` one character; the rest literal. */
export function globMatch(glob: string, text: string): boolean {
  let re = globCache.get(glob);
  if (!re) {
    const body = glob
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".");
    re = new RegExp(`^${body}$`);
    if (globCache.size > 1000) globCache.clear();
    globCache.set(glob, re);
  }
  return re.test(text);
}

const anyGlob = (globs: readonly string[], text: string) => globs.some((g) => globMatch(g, text));

export function inScope(scope: Scope, pod: PodIdentity): boolean {
  if (scope.namespaces && !anyGlob(scope.namespaces, pod.namespace)) return false;
  if (scope.excludeNamespaces && anyGlob(scope.excludeNamespaces, pod.namespace)) return false;
  if (scope.workloads && !anyGlob(scope.workloads, pod.workload)) return false;
  if (scope.podLabels && !matchesSelector(scope.podLabels, pod.labels)) return false;
  return true;
}
