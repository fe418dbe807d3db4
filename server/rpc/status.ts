/**
 * The one place domain errors become gRPC status codes. A Record, so a new ErrorCode cannot be
 * left unmapped. Transient errors carry `pinhole-retry-after-ms` in the trailers.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { isPinholeError, type ErrorCode } from '../core/errors.js';

export const STATUS_OF: Readonly<Record<ErrorCode, status>> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: status.UNAVAILABLE,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  CANCELLED: status.CANCELLED,
  INTERNAL: status.INTERNAL,
};

export const RETRY_AFTER_KEY = 'pinhole-retry-after-ms';

/**
 * Turns anything thrown by a handler into what the client may see. Unknown errors become
 * INTERNAL naming only the request id: their text may hold internals and goes to the log instead.
 */
export function toServiceError(error: unknown, requestTag: string): Partial<ServiceError> & { code: status } {
  const metadata = new Metadata();
  if (isPinholeError(error) && error.code !== 'INTERNAL') {
    if (error.retryAfterMs !== undefined) metadata.set(RETRY_AFTER_KEY, String(error.retryAfterMs));
    return { code: STATUS_OF[error.code], details: error.message, metadata };
  }
  return {
    code: status.INTERNAL,
    details: `internal error (request ${requestTag}); the server log has the cause`,
    metadata,
  };
}
