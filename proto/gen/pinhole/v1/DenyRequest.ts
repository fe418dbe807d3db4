// Original file: proto/pinhole/v1/admin.proto


export interface DenyRequest {
  'pendingId'?: (string);
  /**
   * required, at most 1024 bytes
   */
  'reason'?: (string);
}

export interface DenyRequest__Output {
  'pendingId': (string);
  /**
   * required, at most 1024 bytes
   */
  'reason': (string);
}
