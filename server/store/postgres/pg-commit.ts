/**
 * One group-commit transaction: many mutations, one lock on the meta row, one WAL flush, and
 * two round trips:
 *
 *   1. BEGIN; SELECT * FROM pinhole_commit_lock(…)   — locks the meta row (the serialization
 *      point across servers), then reads the revisions of leases named in `expect` and the
 *      answers that would collide, with a snapshot taken after the lock (pg-schema.ts, v2)
 *   2. plan the batch in JS (mutation-plan.ts): revisions, stamps, audit hashes, refusals
 *   3. WITH … one statement writes every row, advances meta, NOTIFYs pinhole_commit; COMMIT
 *
 * The meta row lock is held from 1 to the end of 3, so the next transaction (on any server)
 * reads the revision this one wrote: revisions are strictly increasing, and because a
 * transaction only gets its revision after the previous holder's commit is visible, they become
 * visible in order — a reader that sees revision N sees every revision below it (gap-free for
 * watchers). Preconditions and duplicate request ids are decided on state read under that lock,
 * whichever server committed the conflicting change.
 *
 * Both round trips are simple-protocol queries (several statements in one message), so values
 * are inlined as escaped literals (`pg.escapeLiteral`, integers checked): the lock is held for
 * one round trip plus the commit's fsync, not four.
 */
import pg from 'pg';
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import type { Mutation, StoredEvent } from '../store.js';
import {
  planBatch,
  type BatchPlan,
  type ChainState,
  type PlanLookup,
  type PlannedWrite,
} from '../memory/mutation-plan.js';

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

// Data-modifying CTEs all run, in one statement, whether referenced or not. $n are inlined.
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
  SELECT pg_notify('pinhole_commit', m.revision::text) FROM m WHERE $10::boolean;
  COMMIT`;

interface LockRow {
  kind: 'meta' | 'lease' | 'answer';
  k1: string;
  k2: string;
  n1: string;
  n2: string;
  n3: string;
  h: string;
}

type Literal = string | number | boolean;

function literal(v: Literal): string {
  if (typeof v === 'string') return pg.escapeLiteral(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (!Number.isSafeInteger(v)) throw new Error(`not an integer: ${String(v)}`);
  return String(v);
}

const textArray = (items: readonly string[]): string => `ARRAY[${items.map(literal).join(',')}]::text[]`;

/** Replaces $1…$n in `sql` (which has no other `$`) with literals, in one pass. */
function inline(sql: string, values: readonly Literal[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const v = values[Number(n) - 1];
    if (v === undefined) throw new Error(`no value for $${n}`);
    return literal(v);
  });
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
    const { start, compacted, lookup } = await lockAndLookup(client, mutations);
    const plan = planBatch(mutations, start, lookup);
    const writes = plan.outcomes.flatMap((o) => (o.ok ? [o.write] : []));
    if (writes.length === 0) {
      await client.query('ROLLBACK');
      open = false;
      return { start, plan, events: [], compactedRevision: compacted };
    }
    const floor = plan.end.revision - o.retainRevisions;
    // Compact in steps of 1% of retention so the delete stays small and rare.
    const compactTo = floor - compacted >= Math.max(1, Math.floor(o.retainRevisions / 100)) ? floor : 0;
    const changed = plan.end.revision > start.revision;
    await client.query(
      inline(WRITE, [
        ...rowsOf(writes),
        plan.end.revision,
        plan.end.auditSeq,
        plan.end.auditHash,
        compactTo,
        changed,
      ]),
    );
    open = false;
    const events = writes.filter((w) => w.events.length > 0).map((w) => w.events);
    return { start, plan, events, compactedRevision: Math.max(compacted, compactTo) };
  } catch (error) {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Round trip 1: BEGIN, the meta-row lock, and the committed state the plan needs. */
async function lockAndLookup(
  client: PoolClient,
  mutations: readonly Mutation[],
): Promise<{ start: ChainState; compacted: number; lookup: PlanLookup }> {
  const leaseIds = [...new Set(mutations.flatMap((m) => (m.expect ?? []).map((e) => e.leaseId)))];
  const hosts: string[] = [];
  const requestIds: string[] = [];
  for (const m of mutations) {
    if (m.answer === undefined) continue;
    hosts.push(m.answer.host);
    requestIds.push(m.answer.requestId);
  }
  const result = await client.query<LockRow>(
    `BEGIN; SELECT * FROM pinhole_commit_lock(${textArray(leaseIds)}, ${textArray(hosts)}, ${textArray(requestIds)})`,
  );
  const rows = lastResult(result).rows;
  const meta = rows.find((r) => r.kind === 'meta');
  if (meta === undefined)
    throw new Error('the meta row is missing: the database was not migrated by Pinhole');
  const revisions = new Map<string, number>();
  const answers = new Set<string>();
  for (const r of rows) {
    if (r.kind === 'lease') revisions.set(r.k1, Number(r.n1));
    else if (r.kind === 'answer') answers.add(`${r.k1}\u0000${r.k2}`);
  }
  return {
    start: { revision: Number(meta.n1), auditSeq: Number(meta.n2), auditHash: meta.h },
    compacted: Number(meta.n3),
    lookup: {
      leaseRevision: (id) => revisions.get(id),
      hasAnswer: (host, requestId) => answers.has(`${host}\u0000${requestId}`),
    },
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
function lastResult<R extends QueryResultRow>(result: QueryResult<R> | QueryResult<R>[]): QueryResult<R> {
  const last = Array.isArray(result) ? result.at(-1) : result;
  if (last === undefined) throw new Error('the database returned no result');
  return last;
}
