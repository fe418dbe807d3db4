// Original file: proto/pinhole/v1/opening.proto

import type { Lease as _pinhole_v1_Lease, Lease__Output as _pinhole_v1_Lease__Output } from '../../pinhole/v1/Lease.js';

export interface ListMineResponse {
  'leases'?: (_pinhole_v1_Lease)[];
  'serverEpoch'?: (string);
}

export interface ListMineResponse__Output {
  'leases': (_pinhole_v1_Lease__Output)[];
  'serverEpoch': (string);
}
