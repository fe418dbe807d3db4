// Original file: proto/pinhole/v1/types.proto

export const EndReason = {
  END_REASON_UNSPECIFIED: 'END_REASON_UNSPECIFIED',
  /**
   * the host released it
   */
  RELEASED: 'RELEASED',
  /**
   * not renewed in time, or past max lifetime
   */
  EXPIRED: 'EXPIRED',
  /**
   * an administrator revoked it
   */
  REVOKED: 'REVOKED',
  /**
   * a policy change no longer allows it
   */
  POLICY: 'POLICY',
} as const;

export type EndReason =
  | 'END_REASON_UNSPECIFIED'
  | 0
  /**
   * the host released it
   */
  | 'RELEASED'
  | 1
  /**
   * not renewed in time, or past max lifetime
   */
  | 'EXPIRED'
  | 2
  /**
   * an administrator revoked it
   */
  | 'REVOKED'
  | 3
  /**
   * a policy change no longer allows it
   */
  | 'POLICY'
  | 4

export type EndReason__Output = typeof EndReason[keyof typeof EndReason]
