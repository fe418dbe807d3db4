// Original file: proto/pinhole/v1/types.proto


/**
 * One way in which the granted opening is smaller than the requested one.
 */
export interface Narrowing {
  /**
   * index into OpenRequest.openings
   */
  'openingIndex'?: (number);
  /**
   * "sources", "ports", "destinations" or "ttl"
   */
  'field'?: (string);
  /**
   * what was asked, as text
   */
  'requested'?: (string);
  /**
   * what was granted, as text ("" = nothing)
   */
  'granted'?: (string);
  /**
   * the rule that narrowed it
   */
  'ruleId'?: (string);
  /**
   * one human sentence
   */
  'reason'?: (string);
}

/**
 * One way in which the granted opening is smaller than the requested one.
 */
export interface Narrowing__Output {
  /**
   * index into OpenRequest.openings
   */
  'openingIndex': (number);
  /**
   * "sources", "ports", "destinations" or "ttl"
   */
  'field': (string);
  /**
   * what was asked, as text
   */
  'requested': (string);
  /**
   * what was granted, as text ("" = nothing)
   */
  'granted': (string);
  /**
   * the rule that narrowed it
   */
  'ruleId': (string);
  /**
   * one human sentence
   */
  'reason': (string);
}
