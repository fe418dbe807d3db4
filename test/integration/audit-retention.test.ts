/**
 * Issue #7, last point: audit retention with a signed checkpoint. `pinhole audit prune` removes
 * old records through the store and leaves a checkpoint signed with the server's receipt key;
 * `pinhole audit verify` then starts from the checkpoint, and every way of hiding the prune or
 * tampering with what is left is named. Real server, real SQLite file, real CLI processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeJwt } from 'jose';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import { hostClient, removeDir, tempDir, unaryCall, type TestServer } from '../helpers/pinhole.js';
import { pinhole, pinholeAsync, startAdminTestServer } from './admin-fixtures.js';
import { ReceiptSigner } from '../../server/identity/receipts.js';
import { CHECKPOINT_TYP } from '../../server/audit/checkpoint.js';
import type { Caller } from '../../server/lease/caller.js';

const request = (requestId: string): OpenRequest => ({
  requestId,
  openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }],
  requestedTtlSeconds: 300,
  description: `retention ${requestId}`,
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let root: string;
/** The server's data directory after three phases of requests, never pruned. */
let original: string;
/** Cutoffs between the phases: every record of phase n is older than cutoff n. */
let cutoff1: string;
let cutoff2: string;
/** Highest seq written in phase 1 and 2, and in all. */
let seq1: number;
let seq2: number;
let total: number;

async function phase(ts: TestServer, prefix: string, n: number): Promise<void> {
  const web = hostClient(ts.address, ts.certDir, 'web-1');
  try {
    for (let i = 0; i < n; i++) {
      const res: OpenResponse__Output = await unaryCall(web, web.Open, request(`${prefix}-${i}`));
      expect(res.decision?.outcome).toBe('GRANTED');
    }
  } finally {
    web.close();
  }
}

const maxSeq = (dataDir: string): number => {
  const db = new Database(join(dataDir, 'pinhole.db'), { readonly: true });
  const row = db.prepare<[], { n: number }>('SELECT max(seq) AS n FROM audit').get();
  db.close();
  return row?.n ?? 0;
};

/** A copy of a closed server's data directory, to prune or tamper with. */
function copyOf(from: string, name: string): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(from)) {
    if (f.startsWith('pinhole.db') || f.startsWith('receipt-') || f === 'policy.yaml')
      copyFileSync(join(from, f), join(dir, f));
  }
  return dir;
}

function sql(dataDir: string, statement: string, ...params: unknown[]): void {
  const db = new Database(join(dataDir, 'pinhole.db'));
  db.prepare(statement).run(...params);
  db.close();
}

function checkpointRows(dataDir: string): { seq: number; hash: string; count: number; jws: string }[] {
  const db = new Database(join(dataDir, 'pinhole.db'), { readonly: true });
  const rows = db.prepare('SELECT seq, hash, count, jws FROM audit_checkpoints ORDER BY seq').all() as {
    seq: number;
    hash: string;
    count: number;
    jws: string;
  }[];
  db.close();
  return rows;
}

const verify = (dataDir: string, ...extra: string[]): ReturnType<typeof pinhole> =>
  pinhole('audit', 'verify', '--data-dir', dataDir, ...extra);

const admin = (ts: TestServer): Caller => ({
  identity: {
    role: 'admin',
    name: 'retention-test',
    trustDomain: ts.server.trustDomain,
    addresses: [],
    fingerprint: '',
    notAfterMs: 0,
  },
  peer: 'test',
});

beforeAll(async () => {
  root = tempDir();
  original = join(root, 'original');
  mkdirSync(original);
  const ts = await startAdminTestServer(undefined, original);
  try {
    await phase(ts, 'one', 4);
  } finally {
    await ts.close();
  }
  seq1 = maxSeq(original);
  await sleep(5); // the cutoff must lie strictly between two records' milliseconds
  cutoff1 = new Date().toISOString();
  await sleep(5);
  const ts2 = await startAdminTestServer(undefined, original);
  try {
    await phase(ts2, 'two', 3);
  } finally {
    await ts2.close();
  }
  seq2 = maxSeq(original);
  await sleep(5);
  cutoff2 = new Date().toISOString();
  await sleep(5);
  const ts3 = await startAdminTestServer(undefined, original);
  try {
    await phase(ts3, 'three', 2);
  } finally {
    await ts3.close();
  }
  total = maxSeq(original);
  expect(verify(original).stdout.trim()).toBe(`ok: ${total} records`);
});

afterAll(() => {
  removeDir(root);
});

/** Pruned once, through cutoff 1, by the CLI. */
function prunedOnce(name: string): string {
  const dir = copyOf(original, name);
  const r = pinhole('audit', 'prune', '--data-dir', dir, '--before', cutoff1);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return dir;
}

describe('pinhole audit prune, then verify', () => {
  it('prunes the records older than the cutoff and verify starts from the signed checkpoint', () => {
    const dir = copyOf(original, 'once');
    const r = pinhole('audit', 'prune', '--data-dir', dir, '--before', cutoff1);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^pruned records 1-${seq1} \\(${seq1}, \\S+Z to \\S+Z\\); signed checkpoint at seq ${seq1}; recorded as record ${total + 1}$`,
      ),
    );
    expect(lines[1]).toBe(`done: ${seq1} records older than ${cutoff1} pruned`);
    const rows = checkpointRows(dir);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ seq: seq1, count: seq1 });
    // The checkpoint is an ES256 JWS of the server's receipt key, typed so it is no receipt.
    const claims = decodeJwt(rows[0]!.jws);
    expect(claims).toMatchObject({ seq: seq1, firstSeq: 1, count: seq1, iss: 'pinhole' });
    expect(String(claims.by)).toMatch(/^cli\//);

    const v = verify(dir);
    expect(v.code).toBe(0);
    // Kept: phases two and three, plus the audit-prune record.
    expect(v.stdout.trim()).toMatch(
      new RegExp(
        `^ok: ${total - seq1 + 1} records, verified from the signed checkpoint at seq ${seq1} \\(${seq1} records pruned at \\S+Z by cli/\\S+; ${seq1} pruned in all\\)$`,
      ),
    );
    // Nothing left to prune for the same cutoff.
    const again = pinhole('audit', 'prune', '--data-dir', dir, '--before', cutoff1);
    expect(again.stdout.trim()).toBe(
      `nothing to prune: no record older than ${cutoff1} (or they were pruned already)`,
    );
    expect(checkpointRows(dir)).toHaveLength(1);
  });

  it('prunes twice: the checkpoints chain and verification still holds', () => {
    const dir = prunedOnce('twice');
    const r = pinhole('audit', 'prune', '--data-dir', dir, '--before', cutoff2);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`pruned records ${seq1 + 1}-${seq2} (${seq2 - seq1},`);
    const rows = checkpointRows(dir);
    expect(rows.map((c) => c.seq)).toEqual([seq1, seq2]);
    const v = verify(dir);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(
      `verified from the signed checkpoint at seq ${seq2} (${seq2 - seq1} records pruned at`,
    );
    expect(v.stdout).toContain(`; ${seq2} pruned in all)`);
  });

  it('prunes in batches, each its own checkpoint', () => {
    const dir = copyOf(original, 'batches');
    const r = pinhole('audit', 'prune', '--data-dir', dir, '--before', cutoff2, '--batch', '3');
    expect(r.code).toBe(0);
    const rows = checkpointRows(dir);
    expect(rows.length).toBe(Math.ceil(seq2 / 3));
    expect(rows.every((c) => c.count <= 3)).toBe(true);
    expect(rows.at(-1)?.seq).toBe(seq2);
    expect(verify(dir).code).toBe(0);
  });
});

describe('pinhole audit verify after a prune names what was tampered with', () => {
  it('a kept record altered', () => {
    const dir = prunedOnce('kept-altered');
    const target = seq1 + 2;
    sql(dir, "UPDATE audit SET outcome = 'DENIED' WHERE seq = ?", target);
    const v = verify(dir);
    expect(v.code).toBe(1);
    expect(v.stdout.trim()).toBe(
      `FAILED at record ${target}: record ${target} was altered: its content does not match its hash`,
    );
  });

  it("the checkpoint row's hash or count altered: it no longer matches its signature", () => {
    const dir = prunedOnce('checkpoint-hash');
    sql(dir, 'UPDATE audit_checkpoints SET hash = ? WHERE seq = ?', 'f'.repeat(64), seq1);
    const v = verify(dir);
    expect(v.code).toBe(1);
    expect(v.stdout.trim()).toMatch(
      new RegExp(
        `^FAILED at record ${seq1}: checkpoint at seq ${seq1}: its hash column \\(f{64}\\) differs from the signed value \\([0-9a-f]{64}\\): the checkpoint row was altered, so its signature does not cover it$`,
      ),
    );
    const dir2 = prunedOnce('checkpoint-count');
    sql(dir2, 'UPDATE audit_checkpoints SET count = 1 WHERE seq = ?', seq1);
    expect(verify(dir2).stdout).toContain(
      `checkpoint at seq ${seq1}: its count column (1) differs from the signed value (${seq1})`,
    );
  });

  it("the checkpoint's signed content altered: its signature does not verify", () => {
    const dir = prunedOnce('checkpoint-payload');
    const [header, payload, signature] = checkpointRows(dir)[0]!.jws.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const altered = Buffer.from(JSON.stringify({ ...claims, count: 1 })).toString('base64url');
    sql(dir, 'UPDATE audit_checkpoints SET jws = ? WHERE seq = ?', `${header}.${altered}.${signature}`, seq1);
    const v = verify(dir);
    expect(v.code).toBe(1);
    expect(v.stdout.trim()).toBe(
      `FAILED at record ${seq1}: checkpoint at seq ${seq1}: its signature does not verify with the server key (the checkpoint was altered or forged)`,
    );
  });

  it('a checkpoint forged with another key', async () => {
    const dir = prunedOnce('checkpoint-forged');
    const row = checkpointRows(dir)[0]!;
    const otherDir = join(root, 'other-key');
    const other = await ReceiptSigner.loadOrCreate(otherDir);
    const forged = await other.signStatement(CHECKPOINT_TYP, decodeJwt(row.jws), Date.now());
    sql(dir, 'UPDATE audit_checkpoints SET jws = ? WHERE seq = ?', forged, seq1);
    const v = verify(dir);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(`FAILED at record ${seq1}: checkpoint at seq ${seq1}: it was signed by a key`);
    expect(v.stdout).toContain('forged');
  });

  it('the checkpoint deleted: the gap it covered is named', () => {
    const dir = prunedOnce('checkpoint-deleted');
    sql(dir, 'DELETE FROM audit_checkpoints');
    const v = verify(dir);
    expect(v.code).toBe(1);
    expect(v.stdout.trim()).toBe(
      `FAILED at record 1: records 1-${seq1} are missing and no checkpoint accounts for them (records were removed, or the checkpoint of a prune was deleted)`,
    );
  });

  it('one of two chained checkpoints deleted', () => {
    const older = prunedOnce('chain-older-deleted');
    expect(pinhole('audit', 'prune', '--data-dir', older, '--before', cutoff2).code).toBe(0);
    const newer = copyOf(older, 'chain-newer-deleted');
    sql(older, 'DELETE FROM audit_checkpoints WHERE seq = ?', seq1);
    const v1 = verify(older);
    expect(v1.code).toBe(1);
    expect(v1.stdout.trim()).toBe(
      `FAILED at record ${seq2}: checkpoint at seq ${seq2} starts at record ${seq1 + 1}, but no checkpoint covers records 1-${seq1} (a checkpoint was deleted)`,
    );
    sql(newer, 'DELETE FROM audit_checkpoints WHERE seq = ?', seq2);
    const v2 = verify(newer);
    expect(v2.code).toBe(1);
    expect(v2.stdout.trim()).toBe(
      `FAILED at record ${seq1 + 1}: records ${seq1 + 1}-${seq2} are missing after the checkpoint at seq ${seq1} (records were removed, or a newer checkpoint was deleted)`,
    );
  });

  it('records removed right after the checkpoint', () => {
    const dir = prunedOnce('after-checkpoint');
    sql(dir, 'DELETE FROM audit WHERE seq = ?', seq1 + 1);
    const v = verify(dir);
    expect(v.code).toBe(1);
    expect(v.stdout.trim()).toBe(
      `FAILED at record ${seq1 + 1}: record ${seq1 + 1} is missing after the checkpoint at seq ${seq1} (records were removed, or a newer checkpoint was deleted)`,
    );
  });

  it('the record of the prune removed from the end (and the head file with it)', () => {
    const dir = prunedOnce('prune-record-removed');
    sql(dir, 'DELETE FROM audit WHERE seq = ?', total + 1);
    rmSync(join(dir, 'pinhole.db.audit-head'));
    const v = verify(dir);
    expect(v.code).toBe(1);
    expect(v.stdout.trim()).toBe(
      `FAILED at record ${seq1 + 1}: the audit-prune record of the checkpoint at seq ${seq1} is not in the log (records after the checkpoint were removed)`,
    );
  });

  it('the public key missing: the checkpoint cannot be checked, and verify says where to get one', () => {
    const dir = prunedOnce('no-key');
    rmSync(join(dir, 'receipt-jwks.json'));
    const v = verify(dir);
    expect(v.code).toBe(1);
    expect(v.stdout.trim()).toBe(
      `FAILED at record ${seq1}: records up to ${seq1} were pruned, and the checkpoint cannot be checked: no public key at ${join(dir, 'receipt-jwks.json')}; pass --jwks with the server's receipt-jwks.json`,
    );
    // The key given explicitly verifies.
    const ok = verify(dir, '--jwks', join(original, 'receipt-jwks.json'));
    expect(ok.code).toBe(0);
  });
});

describe('pinhole audit prune refuses', () => {
  it('to prune a range that does not verify (it would destroy the evidence)', () => {
    const dir = copyOf(original, 'refuse-tampered');
    sql(dir, "UPDATE audit SET outcome = 'DENIED' WHERE seq = 2");
    const r = pinhole('audit', 'prune', '--data-dir', dir, '--before', cutoff1);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'audit prune refused: record 2 was altered; pruning would destroy the evidence',
    );
    expect(maxSeq(dir)).toBe(total);
    expect(checkpointRows(dir)).toHaveLength(0);
  });

  it('to prune from a checkpoint row over records still stored (forged by whoever can write the database)', () => {
    const dir = copyOf(original, 'refuse-forged-base');
    // Records 1..seq1 altered, then a checkpoint row claiming they were pruned: a prune that
    // trusted the row would verify only what follows it and delete them under a genuine signature.
    sql(dir, "UPDATE audit SET outcome = 'DENIED' WHERE seq = 2");
    sql(
      dir,
      'INSERT INTO audit_checkpoints (seq, hash, count, pruned_at_ms, jws) VALUES (?, ?, ?, ?, ?)',
      seq1,
      'f'.repeat(64),
      seq1,
      Date.now(),
      'not.a.jws',
    );
    const r = pinhole('audit', 'prune', '--data-dir', dir, '--before', cutoff2);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `audit prune refused: record 1 is still stored although the newest checkpoint (seq ${seq1}) says it was pruned`,
    );
    expect(maxSeq(dir)).toBe(total);
    expect(checkpointRows(dir)).toHaveLength(1);
  });

  it('a cutoff without a unit, in the future, or unreadable, naming --before', () => {
    const dir = copyOf(original, 'refuse-args');
    const bare = pinhole('audit', 'prune', '--data-dir', dir, '--before', '90');
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('--before: "90" has no unit; write an age such as 90d');
    const future = pinhole('audit', 'prune', '--data-dir', dir, '--before', '2999-01-01T00:00:00Z');
    expect(future.stderr).toContain('--before: 2999-01-01T00:00:00.000Z is in the future');
    const junk = pinhole('audit', 'prune', '--data-dir', dir, '--before', 'last tuesday');
    expect(junk.stderr).toContain('--before: "last tuesday" is neither a time nor an age');
    expect(checkpointRows(dir)).toHaveLength(0);
  });

  it('without the server signing key', () => {
    const dir = copyOf(original, 'refuse-no-key');
    rmSync(join(dir, 'receipt-key.jwk'));
    const r = pinhole('audit', 'prune', '--data-dir', dir, '--before', cutoff1);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'receipt-key.jwk')} does not exist`);
    expect(existsSync(join(dir, 'receipt-key.jwk'))).toBe(false);
    expect(maxSeq(dir)).toBe(total);
  });
});

describe('a running server and a prune', () => {
  it('the CLI prunes beside a running server; the server keeps chaining, queries and verifies', async () => {
    const dir = copyOf(original, 'live');
    const ts = await startAdminTestServer(undefined, dir);
    try {
      const r = await pinholeAsync('audit', 'prune', '--data-dir', dir, '--before', cutoff1);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // The server's next commit chains after the CLI's audit-prune record.
      await phase(ts, 'after-prune', 2);
      const verdict = await ts.server.admin.verifyAudit(admin(ts));
      expect(verdict).toMatchObject({ ok: true, checkpoint: { seq: seq1, count: seq1, prunedTotal: seq1 } });
      const records = await ts.server.admin.queryAudit(admin(ts), { limit: 100_000 });
      expect(records[0]?.seq).toBe(seq1 + 1);
      expect(records.some((x) => x.action === 'audit-prune')).toBe(true);
      // Export over the admin API keeps working.
      const exported = await pinholeAsync(
        'admin',
        'audit',
        '--server',
        ts.address,
        '--certs',
        ts.certDir,
        '--jsonl',
      );
      expect(exported.code).toBe(0);
      const lines = exported.stdout.trim().split('\n');
      const seqs = lines.map((l) => Number((JSON.parse(l) as { seq: string | number }).seq));
      expect(Math.min(...seqs)).toBe(seq1 + 1);
    } finally {
      await ts.close();
    }
    expect(verify(dir).code).toBe(0);
  });
});
