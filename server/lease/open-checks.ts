/** Checks of an Open before and around its decision: idempotent replays, and whose addresses it opens. */
import { PinholeError } from '../core/errors.js';
import type { OpenAnswer, OpenRequest } from '../core/types.js';
import type { HostDirectory, PolicyEvaluator, RequesterFacts } from '../policy/api.js';

/** The stored answer of a retried request, or ALREADY_EXISTS when the id was used for another request. */
export function replayAnswer(
  storedHash: string,
  hash: string,
  requestId: string,
  answer: OpenAnswer,
): OpenAnswer {
  if (storedHash !== hash) {
    throw new PinholeError(
      'ALREADY_EXISTS',
      `request_id: ${requestId} was already used for a different request; use a new request_id for a new request`,
      { field: 'request_id' },
    );
  }
  return answer;
}

/** Each destination must be one of the requester's own addresses, or one policy lets it open for a third party. */
export function checkDestinations(
  requester: RequesterFacts,
  request: OpenRequest,
  policy: PolicyEvaluator,
  directory: HostDirectory,
): void {
  if (requester.addresses.length === 0 && request.openings.some((o) => o.destinations.length === 0)) {
    throw new PinholeError(
      'FAILED_PRECONDITION',
      `host ${requester.name}: its certificate carries no IP address, so it has nothing to open; issue it a certificate with --ip`,
    );
  }
  request.openings.forEach((opening, i) => {
    opening.destinations.forEach((address, j) => {
      if (requester.addresses.includes(address)) return;
      if (policy.thirdPartyAllowed(requester, address, directory)) return;
      throw new PinholeError(
        'PERMISSION_DENIED',
        `openings[${i}].destinations[${j}]: ${address} is not an address of host ${requester.name} ` +
          `(its certificate has ${requester.addresses.join(', ') || 'none'}) and no policy rule allows opening it for a third party`,
        { field: `openings[${i}].destinations[${j}]` },
      );
    });
  });
}
