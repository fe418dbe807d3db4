// Original file: proto/pinhole/v1/types.proto

import type { ConcreteRule as _pinhole_v1_ConcreteRule, ConcreteRule__Output as _pinhole_v1_ConcreteRule__Output } from '../../pinhole/v1/ConcreteRule.js';
import type { LeaseState as _pinhole_v1_LeaseState, LeaseState__Output as _pinhole_v1_LeaseState__Output } from '../../pinhole/v1/LeaseState.js';
import type { EndReason as _pinhole_v1_EndReason, EndReason__Output as _pinhole_v1_EndReason__Output } from '../../pinhole/v1/EndReason.js';
import type { Long } from '@grpc/proto-loader';

/**
 * A granted opening with a lifetime.
 */
export interface Lease {
  /**
   * server-chosen, e.g. "lse_..."
   */
  'id'?: (string);
  /**
   * identity name of the requesting host
   */
  'host'?: (string);
  /**
   * the Open request that created it
   */
  'requestId'?: (string);
  /**
   * what enforcers apply
   */
  'rules'?: (_pinhole_v1_ConcreteRule)[];
  /**
   * granted lifetime of one term
   */
  'ttlSeconds'?: (number);
  'grantedAtUnixMs'?: (number | string | Long);
  /**
   * end of the current term unless renewed
   */
  'expiresAtUnixMs'?: (number | string | Long);
  /**
   * renewals never extend past this; Open again after
   */
  'maxLifetimeEndsAtUnixMs'?: (number | string | Long);
  /**
   * store revision of the last change to this lease
   */
  'revision'?: (number | string | Long);
  /**
   * changes only when lease state was lost
   */
  'serverEpoch'?: (string);
  'state'?: (_pinhole_v1_LeaseState);
  /**
   * the policy rule that granted it
   */
  'ruleId'?: (string);
  /**
   * the requester's free text, at most 1024 bytes
   */
  'description'?: (string);
  /**
   * compact JWS over the lease (may be empty before receipts exist)
   */
  'receipt'?: (string);
  /**
   * set when state is LEASE_ENDED
   */
  'endReason'?: (_pinhole_v1_EndReason);
  /**
   * 0 = never renewed
   */
  'renewedAtUnixMs'?: (number | string | Long);
  /**
   * why it ended, for revocations the admin's or policy's reason
   */
  'endDetail'?: (string);
}

/**
 * A granted opening with a lifetime.
 */
export interface Lease__Output {
  /**
   * server-chosen, e.g. "lse_..."
   */
  'id': (string);
  /**
   * identity name of the requesting host
   */
  'host': (string);
  /**
   * the Open request that created it
   */
  'requestId': (string);
  /**
   * what enforcers apply
   */
  'rules': (_pinhole_v1_ConcreteRule__Output)[];
  /**
   * granted lifetime of one term
   */
  'ttlSeconds': (number);
  'grantedAtUnixMs': (string);
  /**
   * end of the current term unless renewed
   */
  'expiresAtUnixMs': (string);
  /**
   * renewals never extend past this; Open again after
   */
  'maxLifetimeEndsAtUnixMs': (string);
  /**
   * store revision of the last change to this lease
   */
  'revision': (string);
  /**
   * changes only when lease state was lost
   */
  'serverEpoch': (string);
  'state': (_pinhole_v1_LeaseState__Output);
  /**
   * the policy rule that granted it
   */
  'ruleId': (string);
  /**
   * the requester's free text, at most 1024 bytes
   */
  'description': (string);
  /**
   * compact JWS over the lease (may be empty before receipts exist)
   */
  'receipt': (string);
  /**
   * set when state is LEASE_ENDED
   */
  'endReason': (_pinhole_v1_EndReason__Output);
  /**
   * 0 = never renewed
   */
  'renewedAtUnixMs': (string);
  /**
   * why it ended, for revocations the admin's or policy's reason
   */
  'endDetail': (string);
}
