// Original file: proto/pinhole/v1/types.proto

import type { Outcome as _pinhole_v1_Outcome, Outcome__Output as _pinhole_v1_Outcome__Output } from '../../pinhole/v1/Outcome.js';
import type { Narrowing as _pinhole_v1_Narrowing, Narrowing__Output as _pinhole_v1_Narrowing__Output } from '../../pinhole/v1/Narrowing.js';
import type { OpeningDecision as _pinhole_v1_OpeningDecision, OpeningDecision__Output as _pinhole_v1_OpeningDecision__Output } from '../../pinhole/v1/OpeningDecision.js';
import type { ConcreteRule as _pinhole_v1_ConcreteRule, ConcreteRule__Output as _pinhole_v1_ConcreteRule__Output } from '../../pinhole/v1/ConcreteRule.js';

/**
 * A policy decision. Always names the deciding rule and a human reason.
 */
export interface Decision {
  'outcome'?: (_pinhole_v1_Outcome);
  /**
   * deciding rule id; "default-deny" when no rule matched
   */
  'ruleId'?: (string);
  /**
   * one human sentence
   */
  'reason'?: (string);
  'narrowings'?: (_pinhole_v1_Narrowing)[];
  /**
   * for DENIED: what policy would have allowed, if anything ("" = nothing)
   */
  'wouldAllow'?: (string);
  'openings'?: (_pinhole_v1_OpeningDecision)[];
  /**
   * granted (GRANTED, PARTIAL) or proposed (PENDING) rules
   */
  'rules'?: (_pinhole_v1_ConcreteRule)[];
  /**
   * granted or proposed term
   */
  'ttlSeconds'?: (number);
}

/**
 * A policy decision. Always names the deciding rule and a human reason.
 */
export interface Decision__Output {
  'outcome': (_pinhole_v1_Outcome__Output);
  /**
   * deciding rule id; "default-deny" when no rule matched
   */
  'ruleId': (string);
  /**
   * one human sentence
   */
  'reason': (string);
  'narrowings': (_pinhole_v1_Narrowing__Output)[];
  /**
   * for DENIED: what policy would have allowed, if anything ("" = nothing)
   */
  'wouldAllow': (string);
  'openings': (_pinhole_v1_OpeningDecision__Output)[];
  /**
   * granted (GRANTED, PARTIAL) or proposed (PENDING) rules
   */
  'rules': (_pinhole_v1_ConcreteRule__Output)[];
  /**
   * granted or proposed term
   */
  'ttlSeconds': (number);
}
