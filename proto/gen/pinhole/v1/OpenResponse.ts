// Original file: proto/pinhole/v1/opening.proto

import type { Decision as _pinhole_v1_Decision, Decision__Output as _pinhole_v1_Decision__Output } from '../../pinhole/v1/Decision.js';
import type { Lease as _pinhole_v1_Lease, Lease__Output as _pinhole_v1_Lease__Output } from '../../pinhole/v1/Lease.js';

export interface OpenResponse {
  'decision'?: (_pinhole_v1_Decision | null);
  /**
   * set for GRANTED and PARTIAL
   */
  'lease'?: (_pinhole_v1_Lease | null);
  /**
   * set for PENDING: pass to WaitDecision
   */
  'pendingId'?: (string);
  'serverEpoch'?: (string);
}

export interface OpenResponse__Output {
  'decision': (_pinhole_v1_Decision__Output | null);
  /**
   * set for GRANTED and PARTIAL
   */
  'lease': (_pinhole_v1_Lease__Output | null);
  /**
   * set for PENDING: pass to WaitDecision
   */
  'pendingId': (string);
  'serverEpoch': (string);
}
