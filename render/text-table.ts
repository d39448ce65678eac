/** Plain-text tables and sparklines for the terminal, kubectl-style. */
import { escapeForTerminal } from "./terminal-text.js";

/**
 * Columns padded to their widest cell, three spaces apart; columns named in `right` aligned right. Cells are
 * escaped for the terminal here, before widths are measured, so every table is safe and stays aligned.
 */
export function textTable(
  headers: readonly string[],
  rawRows: readonly (readonly string[])[],
  right = new Set<number>(),
) {
  const rows = rawRows.map((r) => headers.map((_, i) => escapeForTerminal(r[i] ?? "")));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join("   ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

const BARS = "▁▂▃▄▅▆▇█";

/** A sparkline of `values` in at most `width` characters (averaged into buckets); empty when no values. */
export function sparkline(values: readonly (number | null)[], width = 60): string {
  const present = values.filter((v): v is number => v !== null);
  if (present.length === 0) return "";
  const buckets: number[] = [];
  const per = Math.max(1, Math.ceil(values.length / width));
  for (let i = 0; i < values.length; i += per) {
    const chunk = values.slice(i, i + per).filter((v): v is number => v !== null);
    if (chunk.length) buckets.push(chunk.reduce((a, b) => a + b, 0) / chunk.length);
  }
  const max = Math.max(...buckets);
  const min = Math.min(0, ...buckets);
  return buckets
    .map(
      (v) =>
        BARS[
          max === min ? 0 : Math.min(BARS.length - 1, Math.floor(((v - min) / (max - min)) * BARS.length))
        ],
    )
    .join("");
}

export function rate(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}
