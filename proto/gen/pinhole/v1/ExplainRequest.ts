// Original file: proto/pinhole/v1/admin.proto

import type { OpenRequest as _pinhole_v1_OpenRequest, OpenRequest__Output as _pinhole_v1_OpenRequest__Output } from '../../pinhole/v1/OpenRequest.js';

export interface ExplainRequest {
  /**
   * the requester's identity name
   */
  'host'?: (string);
  /**
   * the requester's addresses (as its certificate would carry)
   */
  'addresses'?: (string)[];
  'request'?: (_pinhole_v1_OpenRequest | null);
}

export interface ExplainRequest__Output {
  /**
   * the requester's identity name
   */
  'host': (string);
  /**
   * the requester's addresses (as its certificate would carry)
   */
  'addresses': (string)[];
  'request': (_pinhole_v1_OpenRequest__Output | null);
}
