// Original file: proto/pinhole/v1/types.proto

import type { PortRange as _pinhole_v1_PortRange, PortRange__Output as _pinhole_v1_PortRange__Output } from '../../pinhole/v1/PortRange.js';
import type { Source as _pinhole_v1_Source, Source__Output as _pinhole_v1_Source__Output } from '../../pinhole/v1/Source.js';

/**
 * One thing a host wants opened.
 */
export interface OpeningSpec {
  /**
   * an application catalog id (e.g. "postgresql"); at most 64 characters
   */
  'app'?: (string);
  /**
   * an explicit port range
   */
  'ports'?: (_pinhole_v1_PortRange | null);
  /**
   * Addresses of the requesting host the opening applies to. Empty = all of the
   * host's own addresses (from its certificate). At most 16 entries.
   */
  'destinations'?: (string)[];
  /**
   * Who may connect. At most 64 entries. Empty = "any", granted only where policy allows it.
   */
  'sources'?: (_pinhole_v1_Source)[];
  'what'?: "app"|"ports";
}

/**
 * One thing a host wants opened.
 */
export interface OpeningSpec__Output {
  /**
   * an application catalog id (e.g. "postgresql"); at most 64 characters
   */
  'app'?: (string);
  /**
   * an explicit port range
   */
  'ports'?: (_pinhole_v1_PortRange__Output | null);
  /**
   * Addresses of the requesting host the opening applies to. Empty = all of the
   * host's own addresses (from its certificate). At most 16 entries.
   */
  'destinations': (string)[];
  /**
   * Who may connect. At most 64 entries. Empty = "any", granted only where policy allows it.
   */
  'sources': (_pinhole_v1_Source__Output)[];
  'what'?: "app"|"ports";
}
