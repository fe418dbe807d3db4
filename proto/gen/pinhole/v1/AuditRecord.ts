// Original file: proto/pinhole/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface AuditRecord {
  'seq'?: (number | string | Long);
  'atUnixMs'?: (number | string | Long);
  /**
   * role/name of the caller, or "server" for sweeps
   */
  'actor'?: (string);
  /**
   * peer address
   */
  'peer'?: (string);
  /**
   * "open", "renew", "release", "expire", "revoke", ...
   */
  'action'?: (string);
  'requestId'?: (string);
  'leaseId'?: (string);
  'outcome'?: (string);
  'ruleId'?: (string);
  /**
   * the rest of the record as JSON
   */
  'detailJson'?: (string);
  /**
   * hex SHA-256 over the previous hash and this record
   */
  'hash'?: (string);
}

export interface AuditRecord__Output {
  'seq': (string);
  'atUnixMs': (string);
  /**
   * role/name of the caller, or "server" for sweeps
   */
  'actor': (string);
  /**
   * peer address
   */
  'peer': (string);
  /**
   * "open", "renew", "release", "expire", "revoke", ...
   */
  'action': (string);
  'requestId': (string);
  'leaseId': (string);
  'outcome': (string);
  'ruleId': (string);
  /**
   * the rest of the record as JSON
   */
  'detailJson': (string);
  /**
   * hex SHA-256 over the previous hash and this record
   */
  'hash': (string);
}
