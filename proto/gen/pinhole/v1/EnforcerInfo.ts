// Original file: proto/pinhole/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface EnforcerInfo {
  'name'?: (string);
  'appliedRevision'?: (number | string | Long);
  'lastHeartbeatUnixMs'?: (number | string | Long);
  'compliant'?: (boolean);
  'error'?: (string);
  'tamperEvents'?: (string)[];
  'mode'?: (string);
}

export interface EnforcerInfo__Output {
  'name': (string);
  'appliedRevision': (string);
  'lastHeartbeatUnixMs': (string);
  'compliant': (boolean);
  'error': (string);
  'tamperEvents': (string)[];
  'mode': (string);
}
