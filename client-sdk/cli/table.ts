/** The `pinhole leases` table. */
import { describeRule, type LeaseInfo } from '../types.js';

/** `4m10s`, `59s`, `expired` for a remaining time. */
export function formatRemaining(ms: number): string {
  if (ms <= 0) return 'expired';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 === 0 ? '' : `${s % 60}s`}`;
  return `${Math.floor(m / 60)}h${m % 60 === 0 ? '' : `${m % 60}m`}`;
}

/** A fixed-width table: one line per rule, the lease's columns on its first line. */
export function formatLeases(leases: readonly LeaseInfo[], nowMs: number): string {
  if (leases.length === 0) return 'no live leases\n';
  const rows: string[][] = [['LEASE', 'STATE', 'EXPIRES IN', 'RULE', 'OPENS', 'DESCRIPTION']];
  for (const l of leases) {
    const rules = l.rules.length === 0 ? [''] : l.rules.map(describeRule);
    rules.forEach((rule, i) => {
      rows.push(
        i === 0
          ? [l.id, l.state, formatRemaining(l.expiresAtMs - nowMs), l.ruleId, rule, l.description]
          : ['', '', '', '', rule, ''],
      );
    });
  }
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return (
    rows
      .map((r) =>
        r
          .map((cell, c) => cell.padEnd(widths[c] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
