/**
 * The watch validator finds what it claims to: a correct history passes, and each kind of
 * broken history (a gap, a duplicate, a revision out of order, a revision split across a
 * reconnect, a wrong resume point, a wrong snapshot, a stale final set) is reported.
 */
import { describe, expect, it } from 'vitest';
import {
  finalStateProblem,
  GroundTruth,
  validateWatcher,
  type SeenEvent,
  type Session,
  type TruthEvent,
} from './watch-validator.js';

const t = (revision: number, type: 'UPSERT' | 'DELETE', leaseId: string, expiresAtMs = 1000): TruthEvent => ({
  revision,
  type,
  leaseId,
  host: leaseId.startsWith('w') ? 'web-1' : 'db-1',
  expiresAtMs,
});

/** r1: put a; r2: put b, put w (one revision, two leases); r3: renew a; r4: delete b; r5: put c. */
const LOG = [
  t(1, 'UPSERT', 'a'),
  t(2, 'UPSERT', 'b'),
  t(2, 'UPSERT', 'w'),
  t(3, 'UPSERT', 'a', 2000),
  t(4, 'DELETE', 'b'),
  t(5, 'UPSERT', 'c'),
];
const truth = new GroundTruth(LOG);

const live = (e: TruthEvent): SeenEvent => ({ ...e, snapshot: false });
const snap = (revision: number, e: TruthEvent): SeenEvent => ({ ...e, revision, snapshot: true });
const progress = (revision: number): SeenEvent => ({
  type: 'PROGRESS',
  revision,
  snapshot: false,
  leaseId: '',
  host: '',
  expiresAtMs: 0,
});
const reset = (revision: number): SeenEvent => ({ ...progress(revision), type: 'RESET' });
const ev = (i: number): SeenEvent => {
  const e = LOG[i];
  if (e === undefined) throw new Error(`no log entry ${i}`);
  return live(e);
};
const session = (fromRevision: number, events: SeenEvent[], end = 'cut'): Session => ({
  fromRevision,
  events,
  end,
});
const all = (): boolean => true;

function check(sessions: Session[], inScope: (host: string) => boolean = all): string[] {
  const history = { name: 'w', inScope, sessions };
  const report = validateWatcher(history, truth);
  const final = finalStateProblem(history, truth, 5);
  return [...report.violations, ...(final === undefined ? [] : [final])];
}

describe('watch validator', () => {
  it('accepts a snapshot, live events, a cut inside a revision and a resume that repeats it whole', () => {
    expect(truth.check()).toEqual([]);
    const sessions = [
      session(0, [progress(0), ev(0), ev(1)]), // cut inside revision 2: it is dropped
      session(1, [ev(1), ev(2), ev(3), progress(3)]),
      session(3, [ev(4), ev(5), progress(5)], 'stopped'),
    ];
    expect(check(sessions)).toEqual([]);
  });

  it('accepts a superseded renewal that was folded into the newer one', () => {
    // a's grant at 1 was still queued when its renewal at 3 arrived: only the renewal is sent.
    const sessions = [session(0, [progress(0), ev(1), ev(2), ev(3), ev(4), ev(5), progress(5)], 'stopped')];
    expect(check(sessions)).toEqual([]);
  });

  it('accepts RESET followed by a snapshot of the live set', () => {
    const sessions = [
      session(0, [progress(0), ev(0), progress(1)]),
      session(
        1,
        [
          reset(5),
          snap(5, LOG[3] ?? t(0, 'UPSERT', '')),
          snap(5, LOG[2] ?? t(0, 'UPSERT', '')),
          snap(5, LOG[5] ?? t(0, 'UPSERT', '')),
          progress(5),
        ],
        'stopped',
      ),
    ];
    expect(check(sessions)).toEqual([]);
  });

  it('reports a gap', () => {
    const sessions = [session(0, [progress(0), ev(0), ev(1), ev(2), ev(3), ev(5), progress(5)], 'stopped')];
    expect(check(sessions).join('\n')).toMatch(/gap: DELETE of b at revision 4/);
  });

  it('reports an event applied twice', () => {
    const sessions = [
      session(0, [progress(0), ev(0), progress(1)]),
      session(1, [ev(0), ev(1), ev(2), ev(3), ev(4), ev(5), progress(5)], 'stopped'),
    ];
    expect(check(sessions).join('\n')).toMatch(/UPSERT at 1, not after the last complete revision 1/);
  });

  it('reports revisions out of order and a revision split around another', () => {
    const sessions = [
      session(0, [progress(0), ev(0), ev(1), ev(3), ev(2), ev(4), ev(5), progress(5)], 'stopped'),
    ];
    expect(check(sessions).join('\n')).toMatch(/UPSERT at 2, not after the last complete revision 2/);
  });

  it('reports a revision delivered in part across a reconnect', () => {
    // The server resumed after revision 2 although only half of it had arrived.
    const sessions = [
      session(0, [progress(0), ev(0), ev(1), progress(2)]),
      session(2, [ev(3), ev(4), ev(5), progress(5)], 'stopped'),
    ];
    expect(check(sessions).join('\n')).toMatch(/gap: UPSERT of w at revision 2/);
  });

  it('reports a resume from a revision that was not complete', () => {
    const sessions = [
      session(0, [progress(0), ev(0), ev(1)]),
      session(2, [ev(3), ev(4), ev(5), progress(5)], 'stopped'),
    ];
    expect(check(sessions).join('\n')).toMatch(/resumed from 2, but the last complete revision was 1/);
  });

  it('reports a snapshot that is not the live set, and events out of scope', () => {
    const sessions = [session(0, [snap(5, LOG[5] ?? t(0, 'UPSERT', '')), progress(5)], 'stopped')];
    expect(check(sessions).join('\n')).toMatch(/snapshot at 5 is not the live set: missing \["a","w"\]/);
    const scoped = [session(0, [progress(0), ev(0), ev(1), ev(2), progress(5)], 'stopped')];
    expect(check(scoped, (h) => h === 'db-1').join('\n')).toMatch(
      /UPSERT of w \(host web-1\) is out of scope/,
    );
  });

  it('reports a watcher that ends behind the store or with a stale set', () => {
    expect(check([session(0, [progress(0), ev(0), progress(3)], 'stopped')]).join('\n')).toMatch(
      /gap: UPSERT of b at revision 2/,
    );
    expect(check([session(0, [progress(0), ev(0), progress(1)], 'stopped')]).join('\n')).toMatch(
      /ended at revision 1, the store at 5/,
    );
  });
});
