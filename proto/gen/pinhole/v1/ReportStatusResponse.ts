// Original file: proto/pinhole/v1/watch.proto


export interface ReportStatusResponse {
  /**
   * report at least this often or be marked non-compliant
   */
  'heartbeatSeconds'?: (number);
}

export interface ReportStatusResponse__Output {
  /**
   * report at least this often or be marked non-compliant
   */
  'heartbeatSeconds': (number);
}
