// Original file: proto/pinhole/v1/admin.proto

import type { Lease as _pinhole_v1_Lease, Lease__Output as _pinhole_v1_Lease__Output } from '../../pinhole/v1/Lease.js';
import type { LeaseUsage as _pinhole_v1_LeaseUsage, LeaseUsage__Output as _pinhole_v1_LeaseUsage__Output } from '../../pinhole/v1/LeaseUsage.js';

export interface ListLeasesResponse {
  'leases'?: (_pinhole_v1_Lease)[];
  'usage'?: (_pinhole_v1_LeaseUsage)[];
}

export interface ListLeasesResponse__Output {
  'leases': (_pinhole_v1_Lease__Output)[];
  'usage': (_pinhole_v1_LeaseUsage__Output)[];
}
