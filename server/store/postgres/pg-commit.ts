/**
 * One group-commit transaction: many mutations, one lock on the meta row, one WAL flush.
 *
 *   1. BEGIN; SELECT … FROM meta FOR NO KEY UPDATE   — the serialization point across servers
 *   2. read the revisions of leases named in `expect` and the answers that would collide
 *   3. plan the batch in JS (mutation-plan.ts): revisions, stamps, audit hashes, refusals
 *   4. one statement writes every row, advances meta and NOTIFYs pinhole_commit
 *   5. COMMIT
 *
 * The meta row lock is held from 1 to 5, so the next transaction (on any server) reads the
 * revision this one wrote: revisions are strictly increasing, and because a transaction only
 * gets its revision after the previous holder's commit is visible, they become visible in
 * order — a reader that sees revision N sees every revision below it (gap-free for watchers).
 * Steps 2-4 read only under that lock, so a precondition or a duplicate request id cannot be
 * decided on stale state, whichever server committed the conflicting change.
 */
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import type { Mutation, StoredEvent } from '../store.js';
import { planBatch, type BatchPlan, type ChainState, type PlannedWrite } from '../memory/mutation-plan.js';

export interface BatchOutcome {
  readonly start: ChainState;
  readonly plan: BatchPlan;
  /** Events of the successful mutations, one array per revision, in revision order. */
  readonly events: readonly (readonly StoredEvent[])[];
  /** The compacted revision after this batch. */
  readonly compactedRevision: number;
}

export interface BatchOptions {
  readonly retainRevisions: number;
}

const LOCK_META =
  'BEGIN; SELECT revision, audit_seq, audit_hash, compacted_revision FROM meta WHERE id = 1 FOR NO KEY UPDATE';

const LOOKUP = `
  SELECT 'lease' AS kind, id AS k1, '' AS k2, revision FROM leases WHERE id = ANY($1::text[])
  UNION ALL
  SELECT 'answer', a.host, a.request_id, 0 FROM answers a
    JOIN unnest($2::text[], $3::text[]) AS q(host, request_id) ON a.host = q.host AND a.request_id = q.request_id`;

// Data-modifying CTEs all run, in one statement and one round trip, whether referenced or not.
const WRITE = `
  WITH l AS (
    INSERT INTO leases (id, host, live, expires_at_ms, revision, json)
    SELECT id, host, live, expires_at_ms, revision, json FROM json_to_recordset($1::json)
      AS x(id text, host text, live boolean, expires_at_ms bigint, revision bigint, json text)
    ON CONFLICT (id) DO UPDATE SET host = excluded.host, live = excluded.live,
      expires_at_ms = excluded.expires_at_ms, revision = excluded.revision, json = excluded.json
  ), e AS (
    INSERT INTO events (revision, idx, type, reason, json)
    SELECT revision, idx, type, reason, json FROM json_to_recordset($2::json)
      AS x(revision bigint, idx integer, type text, reason text, json text)
  ), a AS (
    INSERT INTO answers (host, request_id, request_hash, created_at_ms, json)
    SELECT host, request_id, request_hash, created_at_ms, json FROM json_to_recordset($3::json)
      AS x(host text, request_id text, request_hash text, created_at_ms bigint, json text)
  ), p AS (
    INSERT INTO pending (id, host, state, expires_at_ms, json)
    SELECT id, host, state, expires_at_ms, json FROM json_to_recordset($4::json)
      AS x(id text, host text, state text, expires_at_ms bigint, json text)
    ON CONFLICT (id) DO UPDATE SET state = excluded.state, expires_at_ms = excluded.expires_at_ms, json = excluded.json
  ), au AS (
    INSERT INTO audit (seq, at_ms, actor, peer, action, request_id, lease_id, outcome, rule_id, detail, prev_hash, hash)
    SELECT seq, at_ms, actor, peer, action, request_id, lease_id, outcome, rule_id, detail, prev_hash, hash
      FROM json_to_recordset($5::json) AS x(seq bigint, at_ms bigint, actor text, peer text, action text,
        request_id text, lease_id text, outcome text, rule_id text, detail text, prev_hash text, hash text)
  ), c AS (
    DELETE FROM events WHERE revision <= $9::bigint
  ), m AS (
    UPDATE meta SET revision = $6::bigint, audit_seq = $7::bigint, audit_hash = $8::text,
      compacted_revision = GREATEST(compacted_revision, $9::bigint)
    WHERE id = 1 RETURNING revision
  )
  SELECT pg_notify('pinhole_commit', m.revision::text) FROM m WHERE $10::boolean`;

interface MetaLockRow {
  revision: string;
  audit_seq: string;
  audit_hash: string;
  compacted_revision: string;
}

/** Runs the batch in one transaction on `client`. Throws (after ROLLBACK) on any database error. */
export async function commitBatch(
  client: PoolClient,
  mutations: readonly Mutation[],
  o: BatchOptions,
): Promise<BatchOutcome> {
  let open = false;
  try {
    open = true;
    const meta = lastRow(await client.query<MetaLockRow>(LOCK_META));
    const start: ChainState = {
      revision: Number(meta.revision),
      auditSeq: Number(meta.audit_seq),
      auditHash: meta.audit_hash,
    };
    const compacted = Number(meta.compacted_revision);
    const plan = planBatch(mutations, start, await lookup(client, mutations));
    const writes = plan.outcomes.flatMap((o) => (o.ok ? [o.write] : []));
    if (writes.length === 0) {
      await client.query('ROLLBACK');
      open = false;
      return { start, plan, events: [], compactedRevision: compacted };
    }
    const floor = plan.end.revision - o.retainRevisions;
    // Compact in steps of 1% of retention so the delete stays small and rare.
    const compactTo = floor - compacted >= Math.max(1, Math.floor(o.retainRevisions / 100)) ? floor : 0;
    await client.query(WRITE, [
      ...rowsOf(writes),
      plan.end.revision,
      plan.end.auditSeq,
      plan.end.auditHash,
      compactTo,
      plan.end.revision > start.revision,
    ]);
    await client.query('COMMIT');
    open = false;
    const events = writes.filter((w) => w.events.length > 0).map((w) => w.events);
    return { start, plan, events, compactedRevision: Math.max(compacted, compactTo) };
  } catch (error) {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The committed state the plan needs: revisions of expected leases, answers that already exist. */
async function lookup(
  client: PoolClient,
  mutations: readonly Mutation[],
): Promise<Parameters<typeof planBatch>[2]> {
  const leaseIds = [...new Set(mutations.flatMap((m) => (m.expect ?? []).map((e) => e.leaseId)))];
  const hosts: string[] = [];
  const requestIds: string[] = [];
  for (const m of mutations) {
    if (m.answer === undefined) continue;
    hosts.push(m.answer.host);
    requestIds.push(m.answer.requestId);
  }
  const revisions = new Map<string, number>();
  const answers = new Set<string>();
  if (leaseIds.length > 0 || hosts.length > 0) {
    const { rows } = await client.query<{ kind: string; k1: string; k2: string; revision: string }>(LOOKUP, [
      leaseIds,
      hosts,
      requestIds,
    ]);
    for (const r of rows) {
      if (r.kind === 'lease') revisions.set(r.k1, Number(r.revision));
      else answers.add(`${r.k1}\u0000${r.k2}`);
    }
  }
  return {
    leaseRevision: (id) => revisions.get(id),
    hasAnswer: (host, requestId) => answers.has(`${host}\u0000${requestId}`),
  };
}

/** The five JSON row sets of WRITE. A lease or pending record written twice keeps its last version (one upsert per key). */
function rowsOf(writes: readonly PlannedWrite[]): [string, string, string, string, string] {
  const leases = new Map<string, object>();
  const events: object[] = [];
  const answers: object[] = [];
  const pending = new Map<string, object>();
  const audit: object[] = [];
  const now = Date.now();
  for (const w of writes) {
    for (const l of w.leases) {
      leases.delete(l.id);
      leases.set(l.id, {
        id: l.id,
        host: l.host,
        live: l.state !== 'ended',
        expires_at_ms: l.expiresAtMs,
        revision: l.revision,
        json: JSON.stringify(l),
      });
    }
    w.events.forEach((e, idx) => {
      events.push({
        revision: e.revision,
        idx,
        type: e.type,
        reason: e.reason ?? null,
        json: JSON.stringify(e.lease),
      });
    });
    if (w.answer !== undefined) {
      const a = w.answer;
      answers.push({
        host: a.host,
        request_id: a.requestId,
        request_hash: a.requestHash,
        created_at_ms: now,
        json: JSON.stringify(a.answer),
      });
    }
    if (w.pending !== undefined) {
      const p = w.pending;
      pending.set(p.id, {
        id: p.id,
        host: p.host,
        state: p.state,
        expires_at_ms: p.expiresAtMs,
        json: JSON.stringify(p),
      });
    }
    for (const r of w.audit) {
      audit.push({
        seq: r.seq,
        at_ms: r.atMs,
        actor: r.actor,
        peer: r.peer,
        action: r.action,
        request_id: r.requestId,
        lease_id: r.leaseId,
        outcome: r.outcome,
        rule_id: r.ruleId,
        detail: JSON.stringify(r.detail),
        prev_hash: r.prevHash,
        hash: r.hash,
      });
    }
  }
  return [
    JSON.stringify([...leases.values()]),
    JSON.stringify(events),
    JSON.stringify(answers),
    JSON.stringify([...pending.values()]),
    JSON.stringify(audit),
  ];
}

/** A multi-statement simple query resolves to one result per statement; the last one carries the rows. */
function lastRow<R extends QueryResultRow>(result: QueryResult<R> | QueryResult<R>[]): R {
  const last = Array.isArray(result) ? result.at(-1) : result;
  const row = last?.rows[0];
  if (row === undefined) throw new Error('the meta row is missing: the database was not migrated by Pinhole');
  return row;
}
