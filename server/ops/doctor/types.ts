/**
 * `pinhole doctor` findings: one per thing checked, each with what was found and, when something
 * is wrong, what to do about it. A check never throws: a failure to check is itself a finding.
 */

export type CheckName = 'certs' | 'store' | 'policy' | 'nft' | 'clock';
export const CHECK_NAMES: readonly CheckName[] = ['certs', 'store', 'policy', 'nft', 'clock'];

/** ok; warn (works, but look at it); fail (fix before relying on it: exit 1); skip (not checked, and why). */
export type Status = 'ok' | 'warn' | 'fail' | 'skip';

export interface Finding {
  readonly check: CheckName;
  readonly status: Status;
  /** What was checked: a file, an address, a binary. */
  readonly subject: string;
  readonly message: string;
  /** For warn and fail: the fix, as a command or an instruction. */
  readonly fix?: string;
}

export function finding(
  check: CheckName,
  status: Status,
  subject: string,
  message: string,
  fix?: string,
): Finding {
  return fix === undefined ? { check, status, subject, message } : { check, status, subject, message, fix };
}

/** Node's errors carry a code (ENOENT, ECONNREFUSED...); the message alone is often vague. */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code !== undefined && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}

const LABEL: Readonly<Record<Status, string>> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** One line per finding, the fix indented under it. */
export function formatFindings(findings: readonly Finding[]): string[] {
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${LABEL[f.status]}  ${f.check.padEnd(6)}  ${f.subject}: ${f.message}`);
    if (f.fix !== undefined && (f.status === 'fail' || f.status === 'warn'))
      lines.push(`              fix: ${f.fix}`);
  }
  const failed = findings.filter((f) => f.status === 'fail').length;
  const warned = findings.filter((f) => f.status === 'warn').length;
  lines.push(
    failed === 0
      ? `no problems found${warned > 0 ? ` (${warned} warning(s))` : ''}`
      : `${failed} problem(s) to fix${warned > 0 ? `, ${warned} warning(s)` : ''}`,
  );
  return lines;
}
