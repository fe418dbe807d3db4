// Original file: proto/pinhole/v1/opening.proto


export interface WaitDecisionRequest {
  'pendingId'?: (string);
}

export interface WaitDecisionRequest__Output {
  'pendingId': (string);
}
