/**
 * `GET /api/audit` query parameters -> AuditFilter, and the JSON-lines export response.
 * Times are ISO 8601 (what a `datetime-local` input or a person writes) or milliseconds.
 */
import { invalid } from '../core/errors.js';
import type { AuditFilter } from '../audit/query.js';

/** The console's page size; an export may ask for more, up to the gRPC API's own bound. */
export const DEFAULT_AUDIT_LIMIT = 500;
export const MAX_AUDIT_LIMIT = 100_000;

const NAME = /^[A-Za-z0-9._:-]{1,128}$/;
const OUTCOME = /^[A-Z_]{1,40}$/;

export interface AuditQuery {
  readonly filter: AuditFilter;
  readonly format: 'json' | 'jsonl';
}

function name(params: URLSearchParams, key: string): string | undefined {
  const value = params.get(key)?.trim() ?? '';
  if (value === '') return undefined;
  if (!NAME.test(value))
    throw invalid(
      key,
      `${JSON.stringify(value.slice(0, 80))} is not a name; use 1-128 of A-Z a-z 0-9 . _ : -`,
    );
  return value;
}

/** ms since the epoch from `1718000000000`, `2024-06-10T08:00`, or `2024-06-10T08:00:00Z`. */
export function parseTime(value: string, key: string): number {
  if (/^\d{1,15}$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw invalid(
      key,
      `${JSON.stringify(value.slice(0, 40))} is not a time; use ISO 8601 (2024-06-10T08:00:00Z) or milliseconds since 1970`,
    );
  return ms;
}

function time(params: URLSearchParams, key: string): number | undefined {
  const value = params.get(key)?.trim() ?? '';
  return value === '' ? undefined : parseTime(value, key);
}

export function parseAuditQuery(params: URLSearchParams): AuditQuery {
  const decisionText = params.get('decision')?.trim().toUpperCase() ?? '';
  if (decisionText !== '' && !OUTCOME.test(decisionText)) {
    throw invalid(
      'decision',
      `${JSON.stringify(decisionText.slice(0, 40))} is not an outcome; use GRANTED, PARTIAL, PENDING, DENIED, OK or an error code`,
    );
  }
  const limitText = params.get('limit')?.trim() ?? '';
  let limit = DEFAULT_AUDIT_LIMIT;
  if (limitText !== '') {
    limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) {
      throw invalid(
        'limit',
        `${JSON.stringify(limitText.slice(0, 20))} is out of range; use 1-${MAX_AUDIT_LIMIT}`,
      );
    }
  }
  const format = params.get('format') ?? 'json';
  if (format !== 'json' && format !== 'jsonl')
    throw invalid('format', `${JSON.stringify(format.slice(0, 20))} is not a format; use json or jsonl`);
  const host = name(params, 'host');
  const app = name(params, 'app');
  const ruleId = name(params, 'rule');
  const sinceMs = time(params, 'since');
  const untilMs = time(params, 'until');
  if (sinceMs !== undefined && untilMs !== undefined && untilMs < sinceMs)
    throw invalid('until', 'is before since; swap them');
  const filter: AuditFilter = {
    limit,
    ...(host === undefined ? {} : { host }),
    ...(app === undefined ? {} : { app }),
    ...(ruleId === undefined ? {} : { ruleId }),
    ...(decisionText === '' ? {} : { decision: decisionText }),
    ...(sinceMs === undefined ? {} : { sinceMs }),
    ...(untilMs === undefined ? {} : { untilMs }),
  };
  return { filter, format };
}

/** A file name for the export that sorts by time and says what it is. */
export function exportFileName(nowMs: number): string {
  return `pinhole-audit-${new Date(nowMs)
    .toISOString()
    .replaceAll(':', '')
    .replace(/\.\d+Z$/, 'Z')}.jsonl`;
}
