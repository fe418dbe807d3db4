// Original file: proto/pinhole/v1/admin.proto


export interface ListLeasesRequest {
  /**
   * "" = every host
   */
  'host'?: (string);
  'includeEnded'?: (boolean);
  /**
   * 0 = 1000; at most 10000
   */
  'limit'?: (number);
}

export interface ListLeasesRequest__Output {
  /**
   * "" = every host
   */
  'host': (string);
  'includeEnded': (boolean);
  /**
   * 0 = 1000; at most 10000
   */
  'limit': (number);
}
