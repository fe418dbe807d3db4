// Original file: proto/pinhole/v1/watch.proto

import type { LeaseCounter as _pinhole_v1_LeaseCounter, LeaseCounter__Output as _pinhole_v1_LeaseCounter__Output } from '../../pinhole/v1/LeaseCounter.js';
import type { Long } from '@grpc/proto-loader';

export interface EnforcerStatus {
  /**
   * highest revision applied to the kernel
   */
  'appliedRevision'?: (number | string | Long);
  /**
   * leases applied since the last report (for realized state)
   */
  'appliedLeaseIds'?: (string)[];
  /**
   * last apply error, "" = none
   */
  'error'?: (string);
  /**
   * descriptions of outside changes detected and repaired
   */
  'tamperEvents'?: (string)[];
  'counters'?: (_pinhole_v1_LeaseCounter)[];
  /**
   * "nftables" or "command"
   */
  'backend'?: (string);
  /**
   * "host" or "gateway"
   */
  'mode'?: (string);
}

export interface EnforcerStatus__Output {
  /**
   * highest revision applied to the kernel
   */
  'appliedRevision': (string);
  /**
   * leases applied since the last report (for realized state)
   */
  'appliedLeaseIds': (string)[];
  /**
   * last apply error, "" = none
   */
  'error': (string);
  /**
   * descriptions of outside changes detected and repaired
   */
  'tamperEvents': (string)[];
  'counters': (_pinhole_v1_LeaseCounter__Output)[];
  /**
   * "nftables" or "command"
   */
  'backend': (string);
  /**
   * "host" or "gateway"
   */
  'mode': (string);
}
