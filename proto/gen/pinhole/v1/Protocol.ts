// Original file: proto/pinhole/v1/types.proto

/**
 * Transport protocol of a port opening.
 */
export const Protocol = {
  /**
   * invalid in requests
   */
  PROTOCOL_UNSPECIFIED: 'PROTOCOL_UNSPECIFIED',
  TCP: 'TCP',
  UDP: 'UDP',
  SCTP: 'SCTP',
} as const;

/**
 * Transport protocol of a port opening.
 */
export type Protocol =
  /**
   * invalid in requests
   */
  | 'PROTOCOL_UNSPECIFIED'
  | 0
  | 'TCP'
  | 1
  | 'UDP'
  | 2
  | 'SCTP'
  | 3

/**
 * Transport protocol of a port opening.
 */
export type Protocol__Output = typeof Protocol[keyof typeof Protocol]
