// Original file: proto/pinhole/v1/opening.proto

import type { Lease as _pinhole_v1_Lease, Lease__Output as _pinhole_v1_Lease__Output } from '../../pinhole/v1/Lease.js';

export interface RenewResponse {
  'lease'?: (_pinhole_v1_Lease | null);
  'serverEpoch'?: (string);
}

export interface RenewResponse__Output {
  'lease': (_pinhole_v1_Lease__Output | null);
  'serverEpoch': (string);
}
