/** Duration parsing for TTLs and timeouts: seconds as a number, or text like `90s`, `10m`, `1h30m`. */
import { PinholeClientError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration into milliseconds. A number, or a string of digits, is seconds; otherwise one
 * or more `<integer><unit>` parts with units ms, s, m, h, d (`1h30m`). `field` names the option in
 * the error message.
 */
export function parseDurationMs(value: number | string, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw badDuration(field, String(value));
    return value * 1000;
  }
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = /^(?:\d+(?:ms|s|m|h|d))+$/.test(text) ? [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)] : [];
  if (parts.length === 0) throw badDuration(field, value);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * (UNIT_MS[unit ?? 's'] ?? 1000), 0);
}

/** The wire's TTL range: 1-604800 whole seconds (0 = the policy default, when the option is absent). */
export const MAX_TTL_SECONDS = 604_800;

/** Parses a TTL option into whole seconds within 1-604800. */
export function parseTtlSeconds(value: number | string, field = 'ttl'): number {
  const seconds = parseDurationMs(value, field) / 1000;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_TTL_SECONDS) {
    throw new PinholeClientError(
      'INVALID_ARGUMENT',
      `${field}: ${JSON.stringify(value)} is out of range; use whole seconds from 1s to 7d (604800)`,
    );
  }
  return seconds;
}

function badDuration(field: string, value: string): PinholeClientError {
  return new PinholeClientError(
    'INVALID_ARGUMENT',
    `${field}: ${JSON.stringify(value)} is not a duration; use seconds (300) or units ms, s, m, h, d (90s, 10m, 1h30m)`,
  );
}
