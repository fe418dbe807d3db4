// Original file: proto/pinhole/v1/admin.proto

import type { PendingRequest as _pinhole_v1_PendingRequest, PendingRequest__Output as _pinhole_v1_PendingRequest__Output } from '../../pinhole/v1/PendingRequest.js';

export interface ListPendingResponse {
  'pending'?: (_pinhole_v1_PendingRequest)[];
}

export interface ListPendingResponse__Output {
  'pending': (_pinhole_v1_PendingRequest__Output)[];
}
