// Original file: proto/pinhole/v1/watch.proto

import type { EventType as _pinhole_v1_EventType, EventType__Output as _pinhole_v1_EventType__Output } from '../../pinhole/v1/EventType.js';
import type { Lease as _pinhole_v1_Lease, Lease__Output as _pinhole_v1_Lease__Output } from '../../pinhole/v1/Lease.js';
import type { EndReason as _pinhole_v1_EndReason, EndReason__Output as _pinhole_v1_EndReason__Output } from '../../pinhole/v1/EndReason.js';
import type { Long } from '@grpc/proto-loader';

export interface WatchEvent {
  'type'?: (_pinhole_v1_EventType);
  /**
   * the store revision of this event (for snapshots: the snapshot revision)
   */
  'revision'?: (number | string | Long);
  /**
   * UPSERT: the lease; DELETE: the lease as it ended
   */
  'lease'?: (_pinhole_v1_Lease | null);
  /**
   * UPSERT and DELETE
   */
  'leaseId'?: (string);
  /**
   * DELETE
   */
  'reason'?: (_pinhole_v1_EndReason);
  /**
   * true for UPSERTs that are part of a snapshot; a PROGRESS ends the snapshot
   */
  'snapshot'?: (boolean);
  'serverEpoch'?: (string);
}

export interface WatchEvent__Output {
  'type': (_pinhole_v1_EventType__Output);
  /**
   * the store revision of this event (for snapshots: the snapshot revision)
   */
  'revision': (string);
  /**
   * UPSERT: the lease; DELETE: the lease as it ended
   */
  'lease': (_pinhole_v1_Lease__Output | null);
  /**
   * UPSERT and DELETE
   */
  'leaseId': (string);
  /**
   * DELETE
   */
  'reason': (_pinhole_v1_EndReason__Output);
  /**
   * true for UPSERTs that are part of a snapshot; a PROGRESS ends the snapshot
   */
  'snapshot': (boolean);
  'serverEpoch': (string);
}
