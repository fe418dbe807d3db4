import { hash } from 'node:crypto';
import type { OpenRequest } from '../core/types.js';

/** A stable hash of a request's content, to tell a retry from a different request under the same id. */
export function requestHash(r: OpenRequest): string {
  const canonical = JSON.stringify([
    r.requestId,
    r.openings,
    r.requestedTtlSeconds,
    r.description,
    r.allOrNothing,
  ]);
  // The one-shot crypto.hash: the same digest as a createHash object, at about half the cost.
  return hash('sha256', canonical, 'hex');
}
