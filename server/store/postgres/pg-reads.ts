/**
 * The PostgreSQL store's reads and their row mapping. bigint columns arrive as strings from the
 * driver (int8 may exceed 2^53); every value Pinhole keeps in them is a safe integer, so Number().
 */
import { auditRecordFromRow, type AuditRow } from '../../audit/row.js';
import type { Pool } from 'pg';
import type { EndReason, Lease } from '../../core/types.js';
import type { AuditRecord } from '../../audit/record.js';
import type {
  KnownHost,
  LeaseFilter,
  LiveLeaseKey,
  PendingRecord,
  StoredAnswer,
  StoredEvent,
} from '../store.js';

type Int8 = string | number;
interface JsonRow {
  json: string;
}
interface EventRow {
  revision: Int8;
  type: 'UPSERT' | 'DELETE';
  reason: string | null;
  json: string;
}
export interface MetaRow {
  epoch: string;
  revision: Int8;
  compacted_revision: Int8;
  audit_seq: Int8;
  audit_hash: string;
}

/** A LEFT JOIN LATERAL row with no event (the head exists, the range is empty) has null event columns. */
type Nullable<T> = { [K in keyof T]: T[K] | null };
const isEventRow = <R extends Nullable<EventRow>>(r: R): r is R & EventRow =>
  r.revision !== null && r.json !== null;

const parseLease = (row: JsonRow): Lease => JSON.parse(row.json) as Lease;

export function toEvent(row: EventRow): StoredEvent {
  const lease = JSON.parse(row.json) as Lease;
  const revision = Number(row.revision);
  return row.reason === null
    ? { revision, type: row.type, lease }
    : { revision, type: row.type, lease, reason: row.reason as EndReason };
}

export async function readMeta(db: Pool): Promise<MetaRow> {
  const { rows } = await db.query<MetaRow>(
    'SELECT epoch, revision, compacted_revision, audit_seq, audit_hash FROM meta WHERE id = 1',
  );
  const row = rows[0];
  if (row === undefined) throw new Error('the meta row is missing: the database was not migrated by Pinhole');
  return row;
}

export async function findAnswer(
  db: Pool,
  host: string,
  requestId: string,
): Promise<StoredAnswer | undefined> {
  const { rows } = await db.query<{ request_hash: string; json: string }>(
    'SELECT request_hash, json FROM answers WHERE host = $1 AND request_id = $2',
    [host, requestId],
  );
  const row = rows[0];
  return row === undefined
    ? undefined
    : { requestHash: row.request_hash, answer: JSON.parse(row.json) as StoredAnswer['answer'] };
}

export async function getLease(db: Pool, id: string): Promise<Lease | undefined> {
  const { rows } = await db.query<JsonRow>('SELECT json FROM leases WHERE id = $1', [id]);
  const row = rows[0];
  return row === undefined ? undefined : parseLease(row);
}

export async function listLeases(db: Pool, filter: LeaseFilter): Promise<Lease[]> {
  const args = [filter.host ?? null, filter.includeEnded === true, filter.limit ?? 1000];
  const where = '($1::text IS NULL OR host = $1) AND ($2::boolean OR live)';
  // A page by id walks the primary key; id > and ORDER BY id share the column's collation.
  const { rows } =
    filter.afterId === undefined
      ? await db.query<JsonRow>(`SELECT json FROM leases WHERE ${where} ORDER BY ord LIMIT $3`, args)
      : await db.query<JsonRow>(`SELECT json FROM leases WHERE ${where} AND id > $4 ORDER BY id LIMIT $3`, [
          ...args,
          filter.afterId,
        ]);
  return rows.map(parseLease);
}

export async function listLiveLeaseKeys(db: Pool): Promise<LiveLeaseKey[]> {
  const { rows } = await db.query<LiveLeaseKey>('SELECT id, host FROM leases WHERE live');
  return rows;
}

export async function dueForExpiry(db: Pool, nowMs: number, limit: number): Promise<Lease[]> {
  const { rows } = await db.query<JsonRow>(
    'SELECT json FROM leases WHERE live AND expires_at_ms <= $1 ORDER BY expires_at_ms LIMIT $2',
    [Math.floor(nowMs), limit],
  );
  return rows.map(parseLease);
}

/**
 * Events with after < revision <= upTo, whole revisions only (a page may run past `limit` to
 * finish its last revision, so a reader paging by "last revision seen" never skips half of one).
 * 'compacted' when `after` is older than the retained log. Meta and events come from one snapshot.
 */
export async function eventsAfter(
  db: Pool,
  after: number,
  upTo: number,
  limit: number,
): Promise<{ readonly compacted: number; readonly events: StoredEvent[] | 'compacted' }> {
  const { rows } = await db.query<Nullable<EventRow> & { compacted: Int8 }>(
    `WITH m AS (SELECT compacted_revision FROM meta WHERE id = 1),
          last AS (SELECT revision FROM events WHERE revision > $1 AND revision <= $2 ORDER BY revision, idx OFFSET $3 LIMIT 1)
     SELECT m.compacted_revision AS compacted, e.revision, e.type, e.reason, e.json
       FROM m LEFT JOIN LATERAL (
         SELECT revision, type, reason, json, idx FROM events
          WHERE revision > $1 AND revision <= LEAST($2::bigint, COALESCE((SELECT revision FROM last), $2::bigint))
          ORDER BY revision, idx) e ON true
      ORDER BY e.revision, e.idx`,
    [after, upTo, Math.max(0, limit - 1)],
  );
  const compacted = Number(rows[0]?.compacted ?? 0);
  if (after < compacted) return { compacted, events: 'compacted' };
  return { compacted, events: rows.filter(isEventRow).map(toEvent) };
}

/** The commit feed's read: every event in (after, after + span], and the head revision, from one snapshot. */
export async function feedPage(
  db: Pool,
  after: number,
  span: number,
): Promise<{ head: number; events: StoredEvent[] }> {
  const { rows } = await db.query<Nullable<EventRow> & { head: Int8 }>(
    `WITH m AS (SELECT revision FROM meta WHERE id = 1)
     SELECT m.revision AS head, e.revision, e.type, e.reason, e.json
       FROM m LEFT JOIN LATERAL (
         SELECT revision, idx, type, reason, json FROM events
          WHERE revision > $1 AND revision <= LEAST(m.revision, $1::bigint + $2::bigint)) e ON true
      ORDER BY e.revision, e.idx`,
    [after, span],
  );
  const head = Number(rows[0]?.head ?? after);
  return { head, events: rows.filter(isEventRow).map(toEvent) };
}

export async function getPending(db: Pool, id: string): Promise<PendingRecord | undefined> {
  const { rows } = await db.query<JsonRow>('SELECT json FROM pending WHERE id = $1', [id]);
  const row = rows[0];
  return row === undefined ? undefined : (JSON.parse(row.json) as PendingRecord);
}

export async function listPending(db: Pool, state?: PendingRecord['state']): Promise<PendingRecord[]> {
  const { rows } = await db.query<JsonRow>(
    'SELECT json FROM pending WHERE ($1::text IS NULL OR state = $1) ORDER BY ord',
    [state ?? null],
  );
  return rows.map((r) => JSON.parse(r.json) as PendingRecord);
}

export async function upsertHost(db: Pool, h: KnownHost): Promise<void> {
  await db.query(
    `INSERT INTO hosts (name, addresses, last_seen_ms) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET addresses = excluded.addresses, last_seen_ms = excluded.last_seen_ms`,
    [h.name, JSON.stringify(h.addresses), h.lastSeenMs],
  );
}

export async function listHosts(db: Pool): Promise<KnownHost[]> {
  const { rows } = await db.query<{ name: string; addresses: string; last_seen_ms: Int8 }>(
    'SELECT name, addresses, last_seen_ms FROM hosts',
  );
  return rows.map((r) => ({
    name: r.name,
    addresses: JSON.parse(r.addresses) as string[],
    lastSeenMs: Number(r.last_seen_ms),
  }));
}

export async function auditRecords(db: Pool, afterSeq: number, limit: number): Promise<AuditRecord[]> {
  const { rows } = await db.query<AuditRow>('SELECT * FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2', [
    afterSeq,
    limit,
  ]);
  return rows.map(auditRecordFromRow);
}
