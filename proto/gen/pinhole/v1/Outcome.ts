// Original file: proto/pinhole/v1/types.proto

/**
 * The outcome of a request.
 */
export const Outcome = {
  OUTCOME_UNSPECIFIED: 'OUTCOME_UNSPECIFIED',
  /**
   * everything asked for was granted
   */
  GRANTED: 'GRANTED',
  /**
   * something was granted, narrowed; see Decision.narrowings
   */
  PARTIAL: 'PARTIAL',
  /**
   * an administrator must approve; see OpenResponse.pending_id
   */
  PENDING: 'PENDING',
  /**
   * nothing was granted; see Decision.reason and would_allow
   */
  DENIED: 'DENIED',
} as const;

/**
 * The outcome of a request.
 */
export type Outcome =
  | 'OUTCOME_UNSPECIFIED'
  | 0
  /**
   * everything asked for was granted
   */
  | 'GRANTED'
  | 1
  /**
   * something was granted, narrowed; see Decision.narrowings
   */
  | 'PARTIAL'
  | 2
  /**
   * an administrator must approve; see OpenResponse.pending_id
   */
  | 'PENDING'
  | 3
  /**
   * nothing was granted; see Decision.reason and would_allow
   */
  | 'DENIED'
  | 4

/**
 * The outcome of a request.
 */
export type Outcome__Output = typeof Outcome[keyof typeof Outcome]
