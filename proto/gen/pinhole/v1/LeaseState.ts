// Original file: proto/pinhole/v1/types.proto

export const LeaseState = {
  LEASE_STATE_UNSPECIFIED: 'LEASE_STATE_UNSPECIFIED',
  /**
   * waiting for approval
   */
  LEASE_PENDING: 'LEASE_PENDING',
  /**
   * committed to the store
   */
  LEASE_GRANTED: 'LEASE_GRANTED',
  /**
   * every enforcer in scope reported it applied
   */
  LEASE_REALIZED: 'LEASE_REALIZED',
  /**
   * released, expired or revoked
   */
  LEASE_ENDED: 'LEASE_ENDED',
} as const;

export type LeaseState =
  | 'LEASE_STATE_UNSPECIFIED'
  | 0
  /**
   * waiting for approval
   */
  | 'LEASE_PENDING'
  | 1
  /**
   * committed to the store
   */
  | 'LEASE_GRANTED'
  | 2
  /**
   * every enforcer in scope reported it applied
   */
  | 'LEASE_REALIZED'
  | 3
  /**
   * released, expired or revoked
   */
  | 'LEASE_ENDED'
  | 4

export type LeaseState__Output = typeof LeaseState[keyof typeof LeaseState]
