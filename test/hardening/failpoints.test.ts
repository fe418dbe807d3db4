/** server/failpoints.ts: the spec grammar, hit counting, and the disarmed fast path. */
import { afterEach, describe, expect, it } from 'vitest';
import { configureFailpoints, failpoint, FailpointError, parseFailpoints } from '../../server/failpoints.js';

afterEach(() => {
  configureFailpoints(undefined);
});

describe('failpoints', () => {
  it('parses name=action[@N][%P] entries', () => {
    const parsed = parseFailpoints(
      'before-commit=exit, after-commit-before-reply=throw@3,mid-snapshot=exit%0.25',
    );
    expect([...parsed.entries()].map(([n, a]) => [n, a.action, a.fromHit, a.probability])).toEqual([
      ['before-commit', 'exit', 1, 1],
      ['after-commit-before-reply', 'throw', 3, 1],
      ['mid-snapshot', 'exit', 1, 0.25],
    ]);
  });

  it('refuses unknown names and actions, naming the entry and what is accepted', () => {
    expect(() => parseFailpoints('before-comit=exit')).toThrow(
      /"before-comit=exit" is not a failpoint; use NAME=exit\|throw\[@N\]\[%P\] with NAME one of before-commit/,
    );
    expect(() => parseFailpoints('before-commit=crash')).toThrow(/is not a failpoint/);
  });

  it('fires from the N-th hit on, and only where armed', () => {
    configureFailpoints('after-commit-before-reply=throw@3');
    expect(() => {
      failpoint('after-commit-before-reply');
    }).not.toThrow();
    expect(() => {
      failpoint('before-commit');
    }).not.toThrow();
    expect(() => {
      failpoint('after-commit-before-reply');
    }).not.toThrow();
    expect(() => {
      failpoint('after-commit-before-reply');
    }).toThrow(FailpointError);
  });

  it('does nothing when disarmed (the production path)', () => {
    configureFailpoints('');
    for (let i = 0; i < 1000; i++) failpoint('before-commit');
    configureFailpoints(undefined);
    const t0 = performance.now();
    for (let i = 0; i < 1_000_000; i++) failpoint('after-commit');
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
