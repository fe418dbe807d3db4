// Original file: proto/pinhole/v1/types.proto

import type { Protocol as _pinhole_v1_Protocol, Protocol__Output as _pinhole_v1_Protocol__Output } from '../../pinhole/v1/Protocol.js';

/**
 * An inclusive port range on one protocol. A single port has from == to.
 */
export interface PortRange {
  'protocol'?: (_pinhole_v1_Protocol);
  /**
   * 1-65535
   */
  'from'?: (number);
  /**
   * from-65535; 0 means "same as from"
   */
  'to'?: (number);
}

/**
 * An inclusive port range on one protocol. A single port has from == to.
 */
export interface PortRange__Output {
  'protocol': (_pinhole_v1_Protocol__Output);
  /**
   * 1-65535
   */
  'from': (number);
  /**
   * from-65535; 0 means "same as from"
   */
  'to': (number);
}
