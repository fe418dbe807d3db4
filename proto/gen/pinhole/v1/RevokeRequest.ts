// Original file: proto/pinhole/v1/admin.proto


export interface RevokeRequest {
  'leaseId'?: (string);
  /**
   * required, at most 1024 bytes
   */
  'reason'?: (string);
}

export interface RevokeRequest__Output {
  'leaseId': (string);
  /**
   * required, at most 1024 bytes
   */
  'reason': (string);
}
