/**
 * One measured figure per row, with the baseline measured in the same run. `ratio` is always
 * value / baseline; the goal says which way is good (`min`: ratio must reach it, `max`: must not exceed).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { execFileSync } from 'node:child_process';

/**
 * `min`/`max` bound the ratio; `below` bounds the value itself, in the row's unit (issue #9 asks
 * for some figures in absolute terms, e.g. grant-to-kernel p99 under 50 ms).
 */
export type Goal =
  | { readonly kind: 'min' | 'max'; readonly ratio: number }
  | { readonly kind: 'below'; readonly value: number };

export interface Row {
  readonly figure: number;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What the baseline is, e.g. `grpc echo c=64`. */
  readonly baselineName: string;
  readonly baseline: number | undefined;
  readonly ratio: number | undefined;
  readonly goal: Goal | undefined;
  /** undefined when the row has no goal. */
  readonly pass: boolean | undefined;
  readonly note?: string;
}

export interface RowInput {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baselineName?: string;
  readonly baseline?: number;
  readonly goal?: Goal;
  readonly note?: string;
}

/** Builds a row: computes the ratio and checks the goal. */
export function row(figure: number, r: RowInput): Row {
  const ratio = r.baseline === undefined || r.baseline === 0 ? undefined : r.value / r.baseline;
  const pass = r.goal === undefined ? undefined : meets(r.goal, r.value, ratio);
  return {
    figure,
    name: r.name,
    value: r.value,
    unit: r.unit,
    baselineName: r.baselineName ?? '',
    baseline: r.baseline,
    ratio,
    goal: r.goal,
    pass,
    ...(r.note === undefined ? {} : { note: r.note }),
  };
}

function meets(goal: Goal, value: number, ratio: number | undefined): boolean {
  if (goal.kind === 'below') return Number.isFinite(value) && value < goal.value;
  if (ratio === undefined || !Number.isFinite(ratio)) return false;
  return goal.kind === 'min' ? ratio >= goal.ratio : ratio <= goal.ratio;
}

/** A figure that could not be measured: one failing row that says why. */
export function errorRow(figure: number, name: string, error: unknown): Row {
  const message = error instanceof Error ? error.message : String(error);
  return {
    figure,
    name: `${name} (ERROR)`,
    value: NaN,
    unit: '',
    baselineName: '',
    baseline: undefined,
    ratio: undefined,
    goal: undefined,
    pass: false,
    note: message.split('\n')[0] ?? message,
  };
}

function num(v: number | undefined, unit = ''): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  const text = abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : abs >= 1 ? v.toFixed(2) : v.toFixed(3);
  return unit === '' ? text : `${text} ${unit}`;
}

const goalText = (g: Goal | undefined, unit = ''): string =>
  g === undefined
    ? '—'
    : g.kind === 'below'
      ? `< ${num(g.value, unit)}`
      : `${g.kind === 'min' ? '≥' : '≤'} ${g.ratio}x`;
const passText = (p: boolean | undefined): string => (p === undefined ? 'info' : p ? 'pass' : 'FAIL');

/** The rows as a table: name | value | baseline | ratio | goal | pass/fail. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['#', 'name', 'value', 'baseline', 'ratio', 'goal', 'pass/fail'];
  const lines = rows.map((r) => [
    String(r.figure),
    r.name,
    num(r.value, r.unit),
    r.baseline === undefined ? '—' : `${num(r.baseline, r.unit)} (${r.baselineName})`,
    r.ratio === undefined ? '—' : `${num(r.ratio)}x`,
    goalText(r.goal, r.unit),
    passText(r.pass),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...lines.map(fmt)].join('\n');
}

/** The same table in Markdown, for the README. */
export function formatMarkdown(rows: readonly Row[]): string {
  const out = ['| # | name | value | baseline | ratio | goal | pass/fail |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const baseline = r.baseline === undefined ? '—' : `${num(r.baseline, r.unit)} (${r.baselineName})`;
    const ratio = r.ratio === undefined ? '—' : `${num(r.ratio)}x`;
    out.push(
      `| ${r.figure} | ${r.name} | ${num(r.value, r.unit)} | ${baseline} | ${ratio} | ${goalText(r.goal, r.unit)} | ${passText(r.pass)} |`,
    );
  }
  return out.join('\n');
}

export interface Machine {
  readonly nproc: number;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly nft: string;
  /** 1-minute load average when the run ended: other work on the machine skews every figure. */
  readonly loadAverage: number;
}

export function machine(): Machine {
  const run = (argv: readonly string[]): string => {
    try {
      return execFileSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    nproc: Number(run(['nproc'])) || cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: run(['uname', '-r']),
    node: process.version,
    nft: run(['nft', '--version']),
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

export function writeJson(
  path: string,
  doc: {
    quick: boolean;
    startedAt: string;
    durationS: number;
    figureSeconds: Readonly<Record<string, number>>;
    loadAverageAtStart: number;
    machine: Machine;
    rows: readonly Row[];
  },
): void {
  mkdirSync(dirname(path), { recursive: true });
  const clean = doc.rows.map((r) => ({
    ...r,
    value: Number.isFinite(r.value) ? r.value : null,
    baseline: r.baseline ?? null,
    ratio: r.ratio ?? null,
    goal: r.goal ?? null,
    pass: r.pass ?? null,
  }));
  writeFileSync(path, `${JSON.stringify({ ...doc, rows: clean }, null, 2)}\n`);
}
