// Original file: proto/pinhole/v1/watch.proto

import type { Scope as _pinhole_v1_Scope, Scope__Output as _pinhole_v1_Scope__Output } from '../../pinhole/v1/Scope.js';
import type { Long } from '@grpc/proto-loader';

export interface WatchRequest {
  'scope'?: (_pinhole_v1_Scope | null);
  /**
   * 0 = snapshot first; otherwise resume after this revision
   */
  'fromRevision'?: (number | string | Long);
}

export interface WatchRequest__Output {
  'scope': (_pinhole_v1_Scope__Output | null);
  /**
   * 0 = snapshot first; otherwise resume after this revision
   */
  'fromRevision': (string);
}
