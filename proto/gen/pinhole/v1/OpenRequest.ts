// Original file: proto/pinhole/v1/opening.proto

import type { OpeningSpec as _pinhole_v1_OpeningSpec, OpeningSpec__Output as _pinhole_v1_OpeningSpec__Output } from '../../pinhole/v1/OpeningSpec.js';

export interface OpenRequest {
  /**
   * Client-chosen idempotency key: 1-128 characters of [A-Za-z0-9._:-].
   */
  'requestId'?: (string);
  /**
   * What to open: 1-32 entries.
   */
  'openings'?: (_pinhole_v1_OpeningSpec)[];
  /**
   * Requested lifetime of one term, 1-604800 seconds. 0 = the policy default.
   */
  'requestedTtlSeconds'?: (number);
  /**
   * Why the host needs this, shown to administrators. At most 1024 bytes of UTF-8.
   */
  'description'?: (string);
  /**
   * true: grant everything or nothing (a narrowed answer becomes DENIED).
   */
  'allOrNothing'?: (boolean);
}

export interface OpenRequest__Output {
  /**
   * Client-chosen idempotency key: 1-128 characters of [A-Za-z0-9._:-].
   */
  'requestId': (string);
  /**
   * What to open: 1-32 entries.
   */
  'openings': (_pinhole_v1_OpeningSpec__Output)[];
  /**
   * Requested lifetime of one term, 1-604800 seconds. 0 = the policy default.
   */
  'requestedTtlSeconds': (number);
  /**
   * Why the host needs this, shown to administrators. At most 1024 bytes of UTF-8.
   */
  'description': (string);
  /**
   * true: grant everything or nothing (a narrowed answer becomes DENIED).
   */
  'allOrNothing': (boolean);
}
