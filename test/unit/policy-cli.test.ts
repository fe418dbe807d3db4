/** `pinhole policy check|test|explain`: output and exit codes, through commander as the binary runs it. */
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  registerPolicyCommands,
  runPolicyCheck,
  runPolicyExplain,
  runPolicyTest,
} from '../../server/cli/policy.js';

const ROOT = join(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'examples/policy.yaml');
const CASES = join(ROOT, 'examples/policy-tests.yaml');
const FIXTURES = join(ROOT, 'test/fixtures/policy');

function capture(): { lines: string[]; write: (line: string) => void } {
  const lines: string[] = [];
  return { lines, write: (line) => lines.push(line) };
}

afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

describe('policy check', () => {
  it('accepts the example, printing its warning with file:line:col', async () => {
    const out = capture();
    expect(await runPolicyCheck(EXAMPLE, out.write)).toBe(0);
    expect(out.lines[0]).toMatch(
      /^warning: .*examples\/policy\.yaml:\d+:\d+: rules\[\d+\]\.from: allow rule web-public is open to any source/,
    );
    expect(out.lines.at(-1)).toMatch(/policy\.yaml: ok: 10 rules, \d+ groups, 2 enforcers, 1 warning\(s\)$/);
  });

  it('prints every error and exits 1 on an invalid file', async () => {
    const out = capture();
    expect(await runPolicyCheck(join(FIXTURES, 'five-mistakes.yaml'), out.write)).toBe(1);
    expect(out.lines.filter((l) => l.startsWith('error: '))).toHaveLength(5);
    expect(out.lines.at(-1)).toMatch(/five-mistakes\.yaml: 5 error\(s\), 0 warning\(s\)$/);
  });
});

describe('policy test', () => {
  it('passes every shipped example case', async () => {
    const out = capture();
    expect(await runPolicyTest(EXAMPLE, CASES, out.write)).toBe(0);
    expect(out.lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(out.lines.at(-1)).toMatch(/^(\d+) passed, 0 failed$/);
    // Every decision kind is covered by the shipped cases.
    expect(out.lines.length).toBeGreaterThanOrEqual(16);
  });

  it('reports a failing case with what differed and exits 1', async () => {
    const out = capture();
    expect(await runPolicyTest(EXAMPLE, join(FIXTURES, 'failing-cases.yaml'), out.write)).toBe(1);
    expect(out.lines).toEqual([
      'PASS telnet is denied',
      'FAIL wrong expectation',
      '     decision: expected GRANTED, got DENIED (rule no-telnet denies tcp/23 for web-1)',
      '     rule: expected web-public, got no-telnet',
      '1 passed, 1 failed',
    ]);
  });
});

describe('policy explain', () => {
  it('prints the decision, its rules and the per-rule trace', async () => {
    const out = capture();
    const code = await runPolicyExplain(
      EXAMPLE,
      { as: 'host/web-1', address: ['198.18.0.2'], open: ['tcp/5432'], from: ['198.18.1.0/24'] },
      out.write,
    );
    expect(code).toBe(0);
    expect(out.lines.slice(0, 3)).toEqual([
      'decision: GRANTED',
      'rule:     web-cache-replication',
      'reason:   rule web-cache-replication allows tcp/5432 from 198.18.1.0/24 to 198.18.0.2',
    ]);
    expect(out.lines).toContain('  tcp/5432 from 198.18.1.0/24 to 198.18.0.2');
    expect(out.lines).toContain('trace:');
    expect(
      out.lines.some((l) =>
        l.startsWith(
          '  [opening 0] applies web-cache-replication (allow): allows tcp/5432 from group replica-net',
        ),
      ),
    ).toBe(true);
    expect(
      out.lines.some((l) =>
        l.startsWith(
          '  [opening 0] skipped db-replication (allow): requesters (group db-replicas) do not include web-1',
        ),
      ),
    ).toBe(true);
  });

  it('explains a denial with narrowings and what would be allowed', async () => {
    const out = capture();
    await runPolicyExplain(EXAMPLE, { as: 'host/web-1', open: ['ssh'], from: ['10.0.0.0/8'] }, out.write);
    expect(out.lines).toContain('decision: DENIED');
    expect(out.lines).toContain('would allow: tcp/22 from group admin-segment via rule admin-ssh');
  });

  it('reports a bad request as an error, exit 1', async () => {
    const out = capture();
    expect(await runPolicyExplain(EXAMPLE, { as: 'host/web-1', open: ['tcp/99999'] }, out.write)).toBe(1);
    expect(out.lines).toEqual(['error: open: port 99999 in "tcp/99999" is out of range; use 1-65535']);
  });
});

describe('registerPolicyCommands', () => {
  it('wires check, test and explain into commander and sets process.exitCode', async () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const program = new Command('pinhole').exitOverride();
    registerPolicyCommands(program);
    await program.parseAsync(['node', 'pinhole', 'policy', 'check', join(FIXTURES, 'five-mistakes.yaml')]);
    expect(process.exitCode).toBe(1);
    await program.parseAsync([
      'node',
      'pinhole',
      'policy',
      'explain',
      EXAMPLE,
      '--as',
      'host/web-1',
      '--open',
      'tcp/23',
      '--from',
      'any',
    ]);
    expect(process.exitCode).toBe(0);
    expect(written.join('')).toContain('rule:     no-telnet');
  });
});
