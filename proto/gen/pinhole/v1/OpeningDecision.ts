// Original file: proto/pinhole/v1/types.proto

import type { Outcome as _pinhole_v1_Outcome, Outcome__Output as _pinhole_v1_Outcome__Output } from '../../pinhole/v1/Outcome.js';

/**
 * The decision for one opening of a request.
 */
export interface OpeningDecision {
  'openingIndex'?: (number);
  'outcome'?: (_pinhole_v1_Outcome);
  'ruleId'?: (string);
  'reason'?: (string);
}

/**
 * The decision for one opening of a request.
 */
export interface OpeningDecision__Output {
  'openingIndex': (number);
  'outcome': (_pinhole_v1_Outcome__Output);
  'ruleId': (string);
  'reason': (string);
}
