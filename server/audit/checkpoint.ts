/**
 * Retention checkpoints. Pruning the oldest audit records leaves one signed statement in their
 * place: the seq and hash of the last record removed (the link the first kept record's
 * prev_hash must equal), what was removed, when and by whom. It is an ES256 JWS made with the
 * server's receipt key (server/identity/receipts.ts), so whoever can write the database but not
 * read the key cannot forge one, and a verifier needs only the public JWKS.
 *
 * Checkpoints chain too: each names the first record it removed and that record's prev_hash,
 * which is the previous checkpoint's hash (or GENESIS_HASH), so a removed checkpoint is a gap.
 */
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { GENESIS_HASH } from './record.js';

/** The JWS `typ`: a checkpoint can never pass for a lease receipt, nor a receipt for a checkpoint. */
export const CHECKPOINT_TYP = 'pinhole-audit-checkpoint+jwt';
const ISSUER = 'pinhole';

/** What a checkpoint's signature covers. */
export interface CheckpointClaims {
  /** Seq of the last record removed; the first kept record has seq + 1. */
  readonly seq: number;
  /** That record's hash; the first kept record's prev_hash must equal it. */
  readonly hash: string;
  /** First record this prune removed: the previous checkpoint's seq + 1, or 1. */
  readonly firstSeq: number;
  /** prev_hash of `firstSeq`: the previous checkpoint's hash, or GENESIS_HASH. */
  readonly firstPrevHash: string;
  /** Records removed by this prune (seq - firstSeq + 1). */
  readonly count: number;
  /** Time range of the records removed, ms since 1970. */
  readonly oldestAtMs: number;
  readonly newestAtMs: number;
  /** The cutoff asked for: every record removed is older. */
  readonly beforeMs: number;
  readonly prunedAtMs: number;
  /** `server` (audit.retentionDays) or `cli/<user>@<host>` (pinhole audit prune). */
  readonly by: string;
}

/**
 * A checkpoint as every store keeps it (table `audit_checkpoints`): a few readable columns for
 * operators' SQL, and the JWS. Verification trusts only the JWS and requires the columns to match it.
 */
export interface AuditCheckpoint {
  readonly seq: number;
  readonly hash: string;
  readonly count: number;
  readonly prunedAtMs: number;
  readonly jws: string;
}

/** Signs a checkpoint's claims (app.ts and the CLI make one from the server's ReceiptSigner). */
export type CheckpointSigner = (claims: CheckpointClaims) => Promise<string>;

/** What can sign a checkpoint: the server's ReceiptSigner (server/identity/receipts.ts). */
export interface StatementSigner {
  signStatement(typ: string, claims: Record<string, unknown>, issuedAtMs: number): Promise<string>;
}

/** Checkpoints signed with the server's receipt key, typed so they never pass for receipts. */
export function checkpointSigner(signer: StatementSigner): CheckpointSigner {
  return (claims) => signer.signStatement(CHECKPOINT_TYP, { ...claims }, claims.prunedAtMs);
}

/** The columns a store writes for a signed checkpoint. */
export function checkpointRecord(claims: CheckpointClaims, jws: string): AuditCheckpoint {
  return { seq: claims.seq, hash: claims.hash, count: claims.count, prunedAtMs: claims.prunedAtMs, jws };
}

const NUMBER_CLAIMS = [
  'seq',
  'firstSeq',
  'count',
  'oldestAtMs',
  'newestAtMs',
  'beforeMs',
  'prunedAtMs',
] as const;
const STRING_CLAIMS = ['hash', 'firstPrevHash', 'by'] as const;

function claimsOf(payload: Record<string, unknown>): CheckpointClaims | string {
  for (const k of NUMBER_CLAIMS)
    if (!Number.isSafeInteger(payload[k])) return `its ${k} is not a whole number`;
  for (const k of STRING_CLAIMS) if (typeof payload[k] !== 'string') return `its ${k} is not text`;
  return payload as unknown as CheckpointClaims;
}

/** The claims without checking the signature: for display only (`pinhole audit prune` output). */
export function peekCheckpoint(jws: string): CheckpointClaims | undefined {
  try {
    const claims = claimsOf(decodeJwt(jws));
    return typeof claims === 'string' ? undefined : claims;
  } catch {
    return undefined;
  }
}

/** Either the verified claims, or what is wrong with this checkpoint (a sentence fragment). */
export async function verifyCheckpoint(
  cp: AuditCheckpoint,
  jwks: JSONWebKeySet,
): Promise<CheckpointClaims | { readonly problem: string }> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(cp.jws, createLocalJWKSet(jwks), {
      issuer: ISSUER,
      typ: CHECKPOINT_TYP,
      algorithms: ['ES256'],
    }));
  } catch (cause) {
    const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : '';
    const why =
      code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
        ? 'its signature does not verify with the server key (the checkpoint was altered or forged)'
        : code === 'ERR_JWKS_NO_MATCHING_KEY'
          ? 'it was signed by a key that is not in the given JWKS (forged, or signed by another server: give every server the same receipt key)'
          : `it is not a valid signed checkpoint (${cause instanceof Error ? cause.message : String(cause)})`;
    return { problem: why };
  }
  const claims = claimsOf(payload);
  if (typeof claims === 'string') return { problem: `its signed content is malformed: ${claims}` };
  // The readable columns must say what the signature says: an edited column is an altered checkpoint.
  const columns = [
    ['seq', cp.seq, claims.seq],
    ['hash', cp.hash, claims.hash],
    ['count', cp.count, claims.count],
    ['pruned_at_ms', cp.prunedAtMs, claims.prunedAtMs],
  ] as const;
  for (const [name, stored, signed] of columns) {
    if (stored !== signed)
      return {
        problem: `its ${name} column (${String(stored)}) differs from the signed value (${String(signed)}): the checkpoint row was altered, so its signature does not cover it`,
      };
  }
  if (claims.count !== claims.seq - claims.firstSeq + 1)
    return { problem: `its signed count ${claims.count} does not span ${claims.firstSeq}-${claims.seq}` };
  return claims;
}

export interface CheckpointEvidence {
  /** Every stored checkpoint, in seq order. */
  readonly checkpoints: readonly AuditCheckpoint[];
  /** The server's public keys; absent when none could be found. */
  readonly jwks?: JSONWebKeySet;
  /** Where the keys come from, for messages: a file path, or "the server's receipt key". */
  readonly keySource: string;
}

/** Summary of the checkpoint verification starts from. */
export interface CheckpointStart {
  readonly seq: number;
  readonly hash: string;
  readonly prunedAtMs: number;
  /** Records removed by that prune, and by every prune so far. */
  readonly count: number;
  readonly prunedTotal: number;
  readonly by: string;
  /** Every verified checkpoint by seq, so the chain walk can match audit-prune records to them. */
  readonly all: ReadonlyMap<number, CheckpointClaims>;
}

/**
 * Verifies every checkpoint's signature and that each follows the one before it. Returns where
 * the record chain must resume (undefined: nothing was ever pruned), or the problem, naming the
 * checkpoint.
 */
export async function verifyCheckpoints(
  evidence: CheckpointEvidence,
): Promise<CheckpointStart | undefined | { readonly seq: number; readonly problem: string }> {
  const list = [...evidence.checkpoints].sort((a, b) => a.seq - b.seq);
  if (list.length === 0) return undefined;
  const newest = list.at(-1);
  if (evidence.jwks === undefined)
    return {
      seq: newest?.seq ?? 0,
      problem: `records up to ${newest?.seq ?? 0} were pruned, and the checkpoint cannot be checked: no public key at ${evidence.keySource}; pass --jwks with the server's receipt-jwks.json`,
    };
  const all = new Map<number, CheckpointClaims>();
  let prevSeq = 0;
  let prevHash = GENESIS_HASH;
  let total = 0;
  let last: CheckpointClaims | undefined;
  for (const cp of list) {
    const claims = await verifyCheckpoint(cp, evidence.jwks);
    if ('problem' in claims)
      return { seq: cp.seq, problem: `checkpoint at seq ${cp.seq}: ${claims.problem}` };
    if (claims.firstSeq !== prevSeq + 1 || claims.firstPrevHash !== prevHash) {
      return {
        seq: cp.seq,
        problem:
          prevSeq === 0
            ? `checkpoint at seq ${cp.seq} starts at record ${claims.firstSeq}, but no checkpoint covers records 1-${claims.firstSeq - 1} (a checkpoint was deleted)`
            : `checkpoint at seq ${cp.seq} does not follow the checkpoint at seq ${prevSeq}: it starts at record ${claims.firstSeq} (a checkpoint was deleted or replaced)`,
      };
    }
    all.set(cp.seq, claims);
    total += claims.count;
    prevSeq = claims.seq;
    prevHash = claims.hash;
    last = claims;
  }
  if (last === undefined) return undefined;
  return {
    seq: last.seq,
    hash: last.hash,
    prunedAtMs: last.prunedAtMs,
    count: last.count,
    prunedTotal: total,
    by: last.by,
    all,
  };
}
