// Original file: proto/pinhole/v1/admin.proto

import type { OpenRequest as _pinhole_v1_OpenRequest, OpenRequest__Output as _pinhole_v1_OpenRequest__Output } from '../../pinhole/v1/OpenRequest.js';
import type { Decision as _pinhole_v1_Decision, Decision__Output as _pinhole_v1_Decision__Output } from '../../pinhole/v1/Decision.js';
import type { Long } from '@grpc/proto-loader';

export interface PendingRequest {
  'pendingId'?: (string);
  'host'?: (string);
  'request'?: (_pinhole_v1_OpenRequest | null);
  'decision'?: (_pinhole_v1_Decision | null);
  'createdAtUnixMs'?: (number | string | Long);
  'expiresAtUnixMs'?: (number | string | Long);
}

export interface PendingRequest__Output {
  'pendingId': (string);
  'host': (string);
  'request': (_pinhole_v1_OpenRequest__Output | null);
  'decision': (_pinhole_v1_Decision__Output | null);
  'createdAtUnixMs': (string);
  'expiresAtUnixMs': (string);
}
