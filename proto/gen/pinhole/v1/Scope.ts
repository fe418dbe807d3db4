// Original file: proto/pinhole/v1/watch.proto


/**
 * What to watch. Empty = the whole scope policy gives this firewall.
 * Asking for more than policy gives is PERMISSION_DENIED.
 */
export interface Scope {
  /**
   * host identity names; at most 1024
   */
  'hosts'?: (string)[];
  /**
   * policy group names; at most 128
   */
  'groups'?: (string)[];
}

/**
 * What to watch. Empty = the whole scope policy gives this firewall.
 * Asking for more than policy gives is PERMISSION_DENIED.
 */
export interface Scope__Output {
  /**
   * host identity names; at most 1024
   */
  'hosts': (string)[];
  /**
   * policy group names; at most 128
   */
  'groups': (string)[];
}
