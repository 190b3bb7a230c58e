/** One figure of the benchmark: what was measured, its value and unit. */
export type BenchRow = {
  scenario: string;
  name: string;
  value: number | null;
  unit: string;
  note?: string;
  /** Set by `summarize`: (max − min) / median over the repetitions, in percent, and how many had a value. */
  spread?: { percent: number; runs: number };
};

/**
 * A "Hookline / anchor" row; null when either side is missing, so a missing
 * product or a failed anchor never prints a misleading number.
 *
 * @example
 * ratioRow("delivery", "Hookline / bare loop", hook, bare, "target ≥ 0.5")
 */
export function ratioRow(
  scenario: string,
  name: string,
  product: BenchRow | undefined,
  anchor: BenchRow | undefined,
  note?: string,
): BenchRow {
  const ok = product?.value != null && anchor?.value != null && anchor.value > 0;
  const value = ok ? round(product!.value! / anchor!.value!, 2) : null;
  return { scenario, name, value, unit: "×", note: ok ? note : `${note ?? ""} (missing figure)`.trim() };
}

/** A row that says a part could not be measured, and why. */
export function unavailableRow(scenario: string, name: string, reason: string): BenchRow {
  return { scenario, name, value: null, unit: "", note: reason };
}

/** An error (or any message) as one table-friendly line. */
export function oneLine(error: unknown, max = 300): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, " | ").slice(0, max);
}

/** Rounds to `digits` decimals (figures are noisy; more digits mislead). */
export function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Renders rows as an aligned plain-text table.
 *
 * @example
 * console.log(formatTable([{ scenario: "api", name: "GET", value: 9000, unit: "req/s" }]))
 */
export function formatTable(rows: BenchRow[]): string {
  const cells = rows.map((r) => [r.scenario, r.name, formatValue(r), r.unit, formatSpread(r), r.note ?? ""]);
  const header = ["scenario", "figure", "value", "unit", "spread", "note"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i === 2 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

function formatSpread(r: BenchRow): string {
  if (!r.spread || r.spread.runs < 2) return "";
  return `±${r.spread.percent.toFixed(0)}% (${r.spread.runs})`;
}

/**
 * Folds the rows of several repetitions into one row per figure: the median
 * value and its spread ((max − min) / median). Ratio rows are computed inside
 * each repetition (product and anchor from the same run) and folded the same
 * way, so a ratio is the median of same-run ratios, never a ratio of medians
 * taken minutes apart. The note is the last repetition's.
 *
 * @example
 * const table = summarize([rowsOfRun1, rowsOfRun2, rowsOfRun3])
 */
export function summarize(runs: BenchRow[][]): BenchRow[] {
  const groups = new Map<string, BenchRow[]>();
  for (const rows of runs) {
    for (const row of rows) {
      const key = `${row.scenario}\u0000${row.name}`;
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
  }
  return [...groups.values()].map((rows) => {
    const values = rows.map((r) => r.value).filter((v): v is number => v != null).sort((a, b) => a - b);
    const last = [...rows].reverse().find((r) => r.value != null) ?? rows[rows.length - 1]!;
    if (values.length === 0) return last;
    const median = values.length % 2 ? values[(values.length - 1) / 2]! : (values[values.length / 2 - 1]! + values[values.length / 2]!) / 2;
    const percent = median === 0 ? 0 : ((values[values.length - 1]! - values[0]!) / Math.abs(median)) * 100;
    const digits = last.unit === "×" ? 2 : Number.isInteger(last.value) ? 0 : 1;
    return { ...last, value: round(median, digits), spread: { percent, runs: values.length } };
  });
}

function formatValue(r: BenchRow): string {
  if (r.value == null) return "n/a";
  return r.value.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

/**
 * One progress line on stderr, so a long or stuck run shows where it is
 * without mixing into the table on stdout.
 *
 * @example
 * progress("delivery: graphile-worker anchor")
 */
export function progress(message: string): void {
  process.stderr.write(`  · ${new Date().toISOString().slice(11, 19)} ${message}\n`);
}
