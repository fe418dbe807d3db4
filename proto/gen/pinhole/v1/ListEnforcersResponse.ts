// Original file: proto/pinhole/v1/admin.proto

import type { EnforcerInfo as _pinhole_v1_EnforcerInfo, EnforcerInfo__Output as _pinhole_v1_EnforcerInfo__Output } from '../../pinhole/v1/EnforcerInfo.js';

export interface ListEnforcersResponse {
  'enforcers'?: (_pinhole_v1_EnforcerInfo)[];
}

export interface ListEnforcersResponse__Output {
  'enforcers': (_pinhole_v1_EnforcerInfo__Output)[];
}
