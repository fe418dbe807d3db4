// Original file: proto/pinhole/v1/admin.proto

import type { Outcome as _pinhole_v1_Outcome, Outcome__Output as _pinhole_v1_Outcome__Output } from '../../pinhole/v1/Outcome.js';
import type { Long } from '@grpc/proto-loader';

export interface AuditQuery {
  'host'?: (string);
  'app'?: (string);
  'ruleId'?: (string);
  'decision'?: (_pinhole_v1_Outcome);
  'sinceUnixMs'?: (number | string | Long);
  'untilUnixMs'?: (number | string | Long);
  /**
   * 0 = 1000
   */
  'limit'?: (number);
}

export interface AuditQuery__Output {
  'host': (string);
  'app': (string);
  'ruleId': (string);
  'decision': (_pinhole_v1_Outcome__Output);
  'sinceUnixMs': (string);
  'untilUnixMs': (string);
  /**
   * 0 = 1000
   */
  'limit': (number);
}
