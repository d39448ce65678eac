/**
 * The Prometheus text exposition format (version 0.0.4), written by hand where a registry's per-series objects
 * would cost too much: the collector's per-pod series (tens of thousands of series per scrape).
 */

/** A label value as the format quotes it: backslash, double quote and newline escaped. */
export function labelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`)) : value;
}

/** A sample value: the format spells the non-finite ones +Inf, -Inf and NaN. */
export function sampleValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
}

/** The HELP and TYPE lines that open a metric family (help text: backslash and newline escaped). */
export function familyHeader(name: string, help: string, type: "counter" | "gauge"): string {
  const text = help.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
  return `# HELP ${name} ${text}\n# TYPE ${name} ${type}\n`;
}
