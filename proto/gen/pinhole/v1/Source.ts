// Original file: proto/pinhole/v1/types.proto


/**
 * Who may connect to an opening.
 */
export interface Source {
  /**
   * an address or ADDRESS/PREFIX, IPv4 or IPv6; at most 64 characters
   */
  'cidr'?: (string);
  /**
   * a policy group name; at most 128 characters
   */
  'group'?: (string);
  /**
   * a host identity name; at most 128 characters
   */
  'host'?: (string);
  /**
   * every address; granted only where policy allows an open source
   */
  'any'?: (boolean);
  'kind'?: "cidr"|"group"|"host"|"any";
}

/**
 * Who may connect to an opening.
 */
export interface Source__Output {
  /**
   * an address or ADDRESS/PREFIX, IPv4 or IPv6; at most 64 characters
   */
  'cidr'?: (string);
  /**
   * a policy group name; at most 128 characters
   */
  'group'?: (string);
  /**
   * a host identity name; at most 128 characters
   */
  'host'?: (string);
  /**
   * every address; granted only where policy allows an open source
   */
  'any'?: (boolean);
  'kind'?: "cidr"|"group"|"host"|"any";
}
