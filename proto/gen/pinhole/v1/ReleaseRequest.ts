// Original file: proto/pinhole/v1/opening.proto


export interface ReleaseRequest {
  'leaseId'?: (string);
}

export interface ReleaseRequest__Output {
  'leaseId': (string);
}
