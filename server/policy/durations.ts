/** Durations in policy files: `30s`, `5m`, `1h`, `24h`, `7d`, or compounds such as `1h30m`. */

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const WHOLE = /^(?:\d+[smhd])+$/;
const PART = /(\d+)([smhd])/g;

/** Seconds, or a message saying what is accepted. */
export function parseDuration(text: string): number | string {
  if (!WHOLE.test(text))
    return `"${text}" is not a duration; write a number with a unit s, m, h or d, e.g. 30s, 5m, 1h, 7d`;
  let total = 0;
  for (const m of text.matchAll(PART)) {
    const unit = m[2] as keyof typeof UNIT_SECONDS;
    total += Number(m[1]) * UNIT_SECONDS[unit];
  }
  if (total <= 0) return `"${text}" is zero; a duration must be positive`;
  return total;
}

/** The shortest exact rendering: 90 -> `1m30s`, 3600 -> `1h`. */
export function formatDuration(seconds: number): string {
  if (seconds <= 0) return '0s';
  let rest = Math.floor(seconds);
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
