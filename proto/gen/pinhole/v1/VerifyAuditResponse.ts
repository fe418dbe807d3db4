// Original file: proto/pinhole/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface VerifyAuditResponse {
  'ok'?: (boolean);
  'records'?: (number | string | Long);
  /**
   * 0 = none
   */
  'firstBadSeq'?: (number | string | Long);
  'problem'?: (string);
}

export interface VerifyAuditResponse__Output {
  'ok': (boolean);
  'records': (string);
  /**
   * 0 = none
   */
  'firstBadSeq': (string);
  'problem': (string);
}
