// Original file: proto/pinhole/v1/opening.proto


export interface RenewRequest {
  'leaseId'?: (string);
  /**
   * Requested term, 0 = the lease's granted TTL. Clamped by policy.
   */
  'requestedTtlSeconds'?: (number);
}

export interface RenewRequest__Output {
  'leaseId': (string);
  /**
   * Requested term, 0 = the lease's granted TTL. Clamped by policy.
   */
  'requestedTtlSeconds': (number);
}
