// Original file: proto/pinhole/v1/watch.proto

import type { Long } from '@grpc/proto-loader';

export interface LeaseCounter {
  'leaseId'?: (string);
  'packets'?: (number | string | Long);
  'bytes'?: (number | string | Long);
}

export interface LeaseCounter__Output {
  'leaseId': (string);
  'packets': (string);
  'bytes': (string);
}
