/** Filters over the request log, for admins and export. */
import type { AuditRecord } from './record.js';
import type { AuditPager } from './verify.js';

export interface AuditFilter {
  readonly host?: string;
  readonly app?: string;
  readonly ruleId?: string;
  /** An outcome: GRANTED, PARTIAL, PENDING, DENIED, OK, ... */
  readonly decision?: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
  readonly limit?: number;
}

function mentionsApp(r: AuditRecord, app: string): boolean {
  const openings = r.detail.openings;
  return (
    Array.isArray(openings) &&
    openings.some((o) => typeof o === 'object' && o !== null && (o as { app?: unknown }).app === app)
  );
}

export function matches(r: AuditRecord, f: AuditFilter): boolean {
  if (f.host !== undefined && f.host !== '' && r.actor !== `host/${f.host}` && r.detail.host !== f.host)
    return false;
  if (f.app !== undefined && f.app !== '' && !mentionsApp(r, f.app)) return false;
  if (f.ruleId !== undefined && f.ruleId !== '' && r.ruleId !== f.ruleId) return false;
  if (f.decision !== undefined && f.decision !== '' && r.outcome !== f.decision) return false;
  if (f.sinceMs !== undefined && f.sinceMs > 0 && r.atMs < f.sinceMs) return false;
  if (f.untilMs !== undefined && f.untilMs > 0 && r.atMs > f.untilMs) return false;
  return true;
}

/** The newest `limit` matching records, oldest first. */
export async function queryAudit(page: AuditPager, f: AuditFilter): Promise<AuditRecord[]> {
  const limit = f.limit ?? 1000;
  const out: AuditRecord[] = [];
  let after = 0;
  for (;;) {
    const records = await page(after, 10_000);
    for (const r of records) if (matches(r, f)) out.push(r);
    if (out.length > limit) out.splice(0, out.length - limit);
    const last = records.at(-1);
    if (last === undefined || records.length < 10_000) return out;
    after = last.seq;
  }
}

/** One JSON object per line, for export. */
export function toJsonLines(records: readonly AuditRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');
}
