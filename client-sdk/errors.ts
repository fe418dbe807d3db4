/**
 * The SDK's one error type. gRPC failures are mapped back here (as temporal's `rethrowGrpcError`
 * does), so applications never see a raw `ServiceError`: `code` is a stable string, `message` is
 * the server's own text (it names the field and what to do), `retryable` and `retryAfterMs` say
 * whether and when the same call is worth repeating.
 */
import { Metadata, status } from '@grpc/grpc-js';
import type { Decision } from './types.js';

/**
 * Stable error codes. The gRPC status names, plus:
 * - `DENIED`: policy refused the opening (the decision is on {@link PinholeClientError.decision});
 * - `CLOSED`: the client or opening was closed while the call was in progress.
 */
export type ClientErrorCode =
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DATA_LOSS'
  | 'UNAUTHENTICATED'
  | 'DENIED'
  | 'CLOSED';

/** The trailer key the server sets on transient errors: how long to wait before retrying, ms. */
export const RETRY_AFTER_METADATA_KEY = 'pinhole-retry-after-ms';

const CODE_OF_STATUS: Readonly<Partial<Record<number, ClientErrorCode>>> = {
  [status.OK]: 'UNKNOWN', // an error with status OK is a bug somewhere; never retried
  [status.CANCELLED]: 'CANCELLED',
  [status.UNKNOWN]: 'UNKNOWN',
  [status.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [status.DEADLINE_EXCEEDED]: 'DEADLINE_EXCEEDED',
  [status.NOT_FOUND]: 'NOT_FOUND',
  [status.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [status.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [status.RESOURCE_EXHAUSTED]: 'RESOURCE_EXHAUSTED',
  [status.FAILED_PRECONDITION]: 'FAILED_PRECONDITION',
  [status.ABORTED]: 'ABORTED',
  [status.OUT_OF_RANGE]: 'OUT_OF_RANGE',
  [status.UNIMPLEMENTED]: 'UNIMPLEMENTED',
  [status.INTERNAL]: 'INTERNAL',
  [status.UNAVAILABLE]: 'UNAVAILABLE',
  [status.DATA_LOSS]: 'DATA_LOSS',
  [status.UNAUTHENTICATED]: 'UNAUTHENTICATED',
};

/** Codes worth retrying unchanged (with the same request id): the server or network was busy or away. */
const RETRYABLE: ReadonlySet<ClientErrorCode> = new Set([
  'UNAVAILABLE',
  'RESOURCE_EXHAUSTED',
  'DEADLINE_EXCEEDED',
  'ABORTED',
]);

/** Options of {@link PinholeClientError}'s constructor. */
export interface PinholeClientErrorOptions {
  /** Overrides the default (true for UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED). */
  readonly retryable?: boolean;
  /** The server's `pinhole-retry-after-ms` hint. */
  readonly retryAfterMs?: number;
  /** The gRPC status code, when the error came from a call. */
  readonly grpcCode?: number;
  /** The RPC that failed, e.g. `Renew`. */
  readonly method?: string;
  /** For `DENIED`: the policy decision. */
  readonly decision?: Decision;
  readonly cause?: unknown;
}

/** Every error the SDK throws, rejects with or emits. */
export class PinholeClientError extends Error {
  override readonly name = 'PinholeClientError';
  /** Stable code; the message may change between versions, the code does not. */
  readonly code: ClientErrorCode;
  /** True when repeating the same call later may succeed. */
  readonly retryable: boolean;
  /** How long the server asked the client to wait before retrying, ms (transient errors only). */
  readonly retryAfterMs: number | undefined;
  /** The gRPC status code when the error came from a call, else undefined. */
  readonly grpcCode: number | undefined;
  /** The RPC that failed (`Open`, `Renew`, `Release`, `ListMine`, `WaitDecision`), if any. */
  readonly method: string | undefined;
  /** For `DENIED`: the decision naming the rule and the reason. */
  readonly decision: Decision | undefined;

  constructor(code: ClientErrorCode, message: string, options: PinholeClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE.has(code);
    this.retryAfterMs = options.retryAfterMs;
    this.grpcCode = options.grpcCode;
    this.method = options.method;
    this.decision = options.decision;
  }
}

/** True for a {@link PinholeClientError}. */
export function isPinholeClientError(e: unknown): e is PinholeClientError {
  return e instanceof PinholeClientError;
}

interface GrpcErrorLike {
  readonly code: number;
  readonly details?: unknown;
  readonly message?: unknown;
  readonly metadata?: unknown;
}

function isGrpcError(e: unknown): e is GrpcErrorLike {
  return (
    typeof e === 'object' &&
    e !== null &&
    'code' in e &&
    typeof e.code === 'number' &&
    ('details' in e || 'metadata' in e)
  );
}

/** Reads `pinhole-retry-after-ms` from trailers; undefined when absent or not a number. */
export function retryAfterOf(metadata: unknown): number | undefined {
  if (!(metadata instanceof Metadata)) return undefined;
  const value = metadata.get(RETRY_AFTER_METADATA_KEY)[0];
  const ms = typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/**
 * Turns anything a call threw into a {@link PinholeClientError}. A gRPC error keeps the server's
 * message (`details`), its code by name and its retry hint; anything else becomes UNKNOWN.
 */
export function toClientError(e: unknown, method?: string): PinholeClientError {
  if (isPinholeClientError(e)) return e;
  const where = method === undefined ? {} : { method };
  if (isGrpcError(e)) {
    const code = CODE_OF_STATUS[e.code] ?? 'UNKNOWN';
    const details =
      typeof e.details === 'string' && e.details !== ''
        ? e.details
        : typeof e.message === 'string'
          ? e.message
          : code;
    const retryAfterMs = retryAfterOf(e.metadata);
    return new PinholeClientError(code, details, {
      grpcCode: e.code,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...where,
      cause: e,
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new PinholeClientError('UNKNOWN', message, { ...where, cause: e });
}

/** What a FAILED_PRECONDITION from Renew means, from the server's message. */
export type RenewRefusal =
  | { readonly kind: 'revoked'; readonly by: 'admin' | 'policy'; readonly reason: string }
  | { readonly kind: 'max-lifetime' }
  | { readonly kind: 'other' };

const REVOKED_BY_ADMIN = 'was revoked by an administrator';
const ENDED_BY_POLICY = 'was ended by a policy change';

/**
 * Classifies a Renew FAILED_PRECONDITION. The wire has one code for "revoked" and "past max
 * lifetime", so the message is the contract here: `lease_id: X was revoked by an administrator: R`,
 * `... was ended by a policy change: R`, `... reached its max lifetime ... Open again`.
 */
export function classifyRenewRefusal(message: string): RenewRefusal {
  for (const [marker, by] of [
    [REVOKED_BY_ADMIN, 'admin'],
    [ENDED_BY_POLICY, 'policy'],
  ] as const) {
    const at = message.indexOf(marker);
    if (at >= 0) {
      const rest = message.slice(at + marker.length).replace(/^:\s*/, '');
      return { kind: 'revoked', by, reason: rest === '' ? 'no reason given' : rest };
    }
  }
  if (/max(imum)?[ _]lifetime/i.test(message)) return { kind: 'max-lifetime' };
  return { kind: 'other' };
}
