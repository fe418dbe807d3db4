// Original file: proto/pinhole/v1/opening.proto

import type { OpenResponse as _pinhole_v1_OpenResponse, OpenResponse__Output as _pinhole_v1_OpenResponse__Output } from '../../pinhole/v1/OpenResponse.js';

export interface WaitDecisionEvent {
  /**
   * PENDING while waiting (sent at start and as a heartbeat), then the final answer.
   */
  'response'?: (_pinhole_v1_OpenResponse | null);
}

export interface WaitDecisionEvent__Output {
  /**
   * PENDING while waiting (sent at start and as a heartbeat), then the final answer.
   */
  'response': (_pinhole_v1_OpenResponse__Output | null);
}
