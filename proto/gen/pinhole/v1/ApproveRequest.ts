// Original file: proto/pinhole/v1/admin.proto


export interface ApproveRequest {
  'pendingId'?: (string);
  /**
   * 0 = as decided; otherwise at most the decided TTL
   */
  'ttlSeconds'?: (number);
  /**
   * empty = as decided; otherwise a subset to narrow to
   */
  'sourceCidrs'?: (string)[];
  /**
   * at most 1024 bytes
   */
  'comment'?: (string);
}

export interface ApproveRequest__Output {
  'pendingId': (string);
  /**
   * 0 = as decided; otherwise at most the decided TTL
   */
  'ttlSeconds': (number);
  /**
   * empty = as decided; otherwise a subset to narrow to
   */
  'sourceCidrs': (string)[];
  /**
   * at most 1024 bytes
   */
  'comment': (string);
}
