/**
 * The one place domain errors become HTTP statuses for the admin API, as server/rpc/status.ts is
 * for gRPC. A Record, so a new ErrorCode cannot be left unmapped. The numbers follow
 * grpc-gateway's `HTTPStatusFromCode` (runtime/errors.go), so the JSON API and the gRPC API
 * agree on what each refusal means; FAILED_PRECONDITION is 409 rather than grpc-gateway's 400
 * because the console must tell "you sent nonsense" from "someone else already decided this".
 */
import { isPinholeError, type ErrorCode } from '../core/errors.js';

export const HTTP_STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  // 499 "client closed request" (nginx, grpc-gateway): nobody is left to read it, but logs see it.
  CANCELLED: 499,
  INTERNAL: 500,
};

/**
 * A refusal of the HTTP exchange itself (unknown route, wrong method, wrong content type, body
 * too large) for which no domain code has the right status. It still carries a domain code for
 * the JSON body, so clients switch on one vocabulary.
 */
export class HttpRefusal extends Error {
  override readonly name = 'HttpRefusal';
  readonly status: number;
  readonly code: ErrorCode;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export interface ErrorReply {
  readonly status: number;
  readonly body: {
    readonly error: { readonly code: ErrorCode; readonly message: string; readonly field?: string };
  };
  readonly headers: Readonly<Record<string, string>>;
  /** True when the cause is unknown: log it at error level with the stack. */
  readonly internal: boolean;
}

/**
 * What the client may see of `error`. Unknown errors become INTERNAL naming only the request
 * tag: their text may hold internals (paths, SQL) and goes to the log instead.
 */
export function errorReply(error: unknown, tag: string): ErrorReply {
  if (error instanceof HttpRefusal) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message } },
      headers: error.headers,
      internal: false,
    };
  }
  if (isPinholeError(error) && error.code !== 'INTERNAL') {
    const headers: Record<string, string> = {};
    // Retry-After is whole seconds (RFC 9110 §10.2.3); round up so a client never retries early.
    if (error.retryAfterMs !== undefined)
      headers['retry-after'] = String(Math.ceil(error.retryAfterMs / 1000));
    const body = {
      error: {
        code: error.code,
        message: error.message,
        ...(error.field === undefined ? {} : { field: error.field }),
      },
    };
    return { status: HTTP_STATUS_OF[error.code], body, headers, internal: false };
  }
  return {
    status: 500,
    body: {
      error: { code: 'INTERNAL', message: `internal error (request ${tag}); the server log has the cause` },
    },
    headers: {},
    internal: true,
  };
}
