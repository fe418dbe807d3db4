// Original file: proto/pinhole/v1/types.proto

import type { Protocol as _pinhole_v1_Protocol, Protocol__Output as _pinhole_v1_Protocol__Output } from '../../pinhole/v1/Protocol.js';

/**
 * A concrete firewall rule: traffic from source_cidr to destination on protocol/ports.
 */
export interface ConcreteRule {
  'protocol'?: (_pinhole_v1_Protocol);
  'portFrom'?: (number);
  'portTo'?: (number);
  /**
   * ADDRESS/PREFIX
   */
  'sourceCidr'?: (string);
  /**
   * one address of the host (no prefix)
   */
  'destination'?: (string);
}

/**
 * A concrete firewall rule: traffic from source_cidr to destination on protocol/ports.
 */
export interface ConcreteRule__Output {
  'protocol': (_pinhole_v1_Protocol__Output);
  'portFrom': (number);
  'portTo': (number);
  /**
   * ADDRESS/PREFIX
   */
  'sourceCidr': (string);
  /**
   * one address of the host (no prefix)
   */
  'destination': (string);
}
