/**
 * The two anchors an attacker with write access to the database but no key must not get around:
 * the chain head file kept beside the database (verifyChain), and the newest checkpoint a prune
 * starts from (planPrune). Pure functions over an in-memory log.
 */
import { describe, expect, it } from 'vitest';
import { chainAudit, GENESIS_HASH, type AuditRecord } from '../../server/audit/record.js';
import { verifyChain, type AuditPager } from '../../server/audit/verify.js';
import { planAndSign, planPrune, type PruneRequest } from '../../server/audit/prune.js';
import type { AuditCheckpoint } from '../../server/audit/checkpoint.js';
import { auditFixture } from '../helpers/leases.js';

/** `n` records chained after `prevSeq`/`prevHash`, details tagged with `tag`. */
function chain(n: number, tag: string, prevSeq = 0, prevHash = GENESIS_HASH): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r = chainAudit(
      { ...auditFixture('admin'), atMs: 1000 + prevSeq, detail: { tag, i } },
      prevSeq,
      prevHash,
    );
    out.push(r);
    prevSeq = r.seq;
    prevHash = r.hash;
  }
  return out;
}

const pager =
  (log: readonly AuditRecord[]): AuditPager =>
  (afterSeq, limit) =>
    Promise.resolve(log.filter((r) => r.seq > afterSeq).slice(0, limit));

describe('verifyChain and the chain head file', () => {
  const genuine = chain(10, 'genuine');
  const head = { seq: 10, hash: genuine[9]!.hash };

  it('passes the genuine log', async () => {
    expect(await verifyChain(pager(genuine), head)).toMatchObject({ ok: true, records: 10 });
  });

  it('names the newest records replaced', async () => {
    const rewritten = [...genuine.slice(0, 7), ...chain(3, 'forged', 7, genuine[6]!.hash)];
    expect(await verifyChain(pager(rewritten), head)).toMatchObject({
      ok: false,
      firstBadSeq: 10,
      problem: 'record 10 differs from the recorded chain head (the newest records were replaced)',
    });
  });

  it('names records replaced and extended past the head (a consistent forged tail)', async () => {
    // Records 8.. rewritten with recomputed hashes, and five more appended: every link holds and
    // the log is longer than the head, so only the hash at head.seq tells.
    const rewritten = [...genuine.slice(0, 7), ...chain(8, 'forged', 7, genuine[6]!.hash)];
    expect(await verifyChain(pager(rewritten), head)).toMatchObject({
      ok: false,
      firstBadSeq: 10,
      problem:
        'record 10 differs from the recorded chain head (records from 10 on were replaced, and the log extended past the head)',
    });
  });

  it('accepts a head file left behind by a failed write when the log grew genuinely', async () => {
    const grown = [...genuine, ...chain(4, 'later', 10, genuine[9]!.hash)];
    expect(await verifyChain(pager(grown), head)).toMatchObject({ ok: true, records: 14 });
  });
});

describe('planPrune from the newest checkpoint', () => {
  const log = chain(10, 'log');

  it('plans from the checkpoint when the log starts right after it', async () => {
    const kept = log.slice(4);
    const claims = await planPrune(
      pager(kept),
      { seq: 4, hash: log[3]!.hash },
      {
        beforeMs: 1000 + 7,
        by: 'test',
        sign: () => Promise.resolve(''),
      },
    );
    expect(claims).toMatchObject({ firstSeq: 5, seq: 7, count: 3, firstPrevHash: log[3]!.hash });
  });

  it('refuses when records the checkpoint says were pruned are still there (a forged checkpoint row)', async () => {
    // Someone with write access but no key inserts a checkpoint row at seq 6 over records 1-6
    // (after altering them): the prune must not delete them under a genuine signature.
    const tampered = log.map((r) => (r.seq === 3 ? { ...r, outcome: 'DENIED' } : r));
    await expect(
      planPrune(
        pager(tampered),
        { seq: 6, hash: log[5]!.hash },
        {
          beforeMs: 1000 + 9,
          by: 'test',
          sign: () => Promise.resolve(''),
        },
      ),
    ).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(
        /^audit prune refused: record 1 is still stored although the newest checkpoint \(seq 6\) says it was pruned \(a record was inserted, or the checkpoint row was forged\); pruning would destroy the evidence/,
      ) as unknown,
    });
  });
});

describe('planAndSign while another prune removes records under it', () => {
  const log = chain(30, 'log');
  const request: PruneRequest = { beforeMs: 1000 + 25, by: 'test', sign: () => Promise.resolve('jws') };
  const checkpointAt = (seq: number): AuditCheckpoint =>
    ({ seq, hash: log[seq - 1]!.hash }) as AuditCheckpoint;

  /** A pager over a log that loses records 1-10 (another server's prune) after the first read. */
  function racedPager(): AuditPager {
    let reads = 0;
    return (afterSeq, limit) => {
      const visible = ++reads === 1 ? log : log.filter((r) => r.seq > 10);
      return Promise.resolve(visible.filter((r) => r.seq > afterSeq).slice(0, limit));
    };
  }

  it('is superseded, not refused, when the newest checkpoint moved meanwhile', async () => {
    let checkpoint: AuditCheckpoint | undefined;
    const newest = (): Promise<AuditCheckpoint | undefined> => {
      const now = checkpoint;
      checkpoint = checkpointAt(10); // the other prune commits right after our first look
      return Promise.resolve(now);
    };
    expect(await planAndSign(newest, racedPager(), request)).toBe('superseded');
  });

  it('still refuses when the checkpoint did not move: the gap is in the log itself', async () => {
    const newest = (): Promise<AuditCheckpoint | undefined> => Promise.resolve(undefined);
    await expect(planAndSign(newest, racedPager(), request)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(
        /^audit prune refused: record 1 is missing \(the log jumps to 11\)/,
      ) as unknown,
    });
  });

  it('plans from the checkpoint it read when nothing moves', async () => {
    const planned = await planAndSign(() => Promise.resolve(checkpointAt(10)), pager(log.slice(10)), request);
    expect(planned).toMatchObject({
      base: { seq: 10 },
      claims: { firstSeq: 11, seq: 25, count: 15 },
      jws: 'jws',
    });
  });
});
