// Original file: proto/pinhole/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface LeaseUsage {
  'leaseId'?: (string);
  'packets'?: (number | string | Long);
  'bytes'?: (number | string | Long);
  'neverUsed'?: (boolean);
}

export interface LeaseUsage__Output {
  'leaseId': (string);
  'packets': (string);
  'bytes': (string);
  'neverUsed': (boolean);
}
