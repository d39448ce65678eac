/** Reads one counter or gauge from Prometheus text exposition (what /metrics serves). */
export function sampleValue(
  text: string,
  metric: string,
  labels: Record<string, string>,
): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const found: Record<string, string> = {};
    for (const l of (m[1] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      found[l[1] as string] = l[2] as string;
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[2]);
  }
  return undefined;
}

/**
 * The label names each metric is exported with (sorted, joined by ","), by metric name: samples of a histogram or
 * summary count under their family (`_bucket`, `_sum`, `_count` without the extra `le`/`quantile`).
 */
export function labelSetsByMetric(text: string): Map<string, Set<string>> {
  const sets = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? \S+/.exec(line);
    if (!m) continue;
    const name = (m[1] as string).replace(/_(bucket|sum|count)$/, "");
    const keys = [...(m[2] ?? "").matchAll(/(\w+)="(?:[^"\\]|\\.)*"/g)]
      .map((l) => l[1] as string)
      .filter((k) => k !== "le" && k !== "quantile")
      .sort()
      .join(",");
    const set = sets.get(name) ?? new Set<string>();
    set.add(keys);
    sets.set(name, set);
  }
  return sets;
}
