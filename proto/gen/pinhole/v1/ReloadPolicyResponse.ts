// Original file: proto/pinhole/v1/admin.proto


export interface ReloadPolicyResponse {
  'ok'?: (boolean);
  'errors'?: (string)[];
  'warnings'?: (string)[];
  'revoked'?: (number);
  'shortened'?: (number);
}

export interface ReloadPolicyResponse__Output {
  'ok': (boolean);
  'errors': (string)[];
  'warnings': (string)[];
  'revoked': (number);
  'shortened': (number);
}
