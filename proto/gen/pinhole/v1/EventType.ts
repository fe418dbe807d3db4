// Original file: proto/pinhole/v1/watch.proto

export const EventType = {
  EVENT_TYPE_UNSPECIFIED: 'EVENT_TYPE_UNSPECIFIED',
  /**
   * a lease was granted, renewed or changed: apply it
   */
  UPSERT: 'UPSERT',
  /**
   * a lease ended: withdraw it (reason says why)
   */
  DELETE: 'DELETE',
  /**
   * heartbeat and checkpoint: everything up to revision has been sent
   */
  PROGRESS: 'PROGRESS',
  /**
   * cannot resume from the asked revision (no longer retained, or more missed
   */
  RESET: 'RESET',
} as const;

export type EventType =
  | 'EVENT_TYPE_UNSPECIFIED'
  | 0
  /**
   * a lease was granted, renewed or changed: apply it
   */
  | 'UPSERT'
  | 1
  /**
   * a lease ended: withdraw it (reason says why)
   */
  | 'DELETE'
  | 2
  /**
   * heartbeat and checkpoint: everything up to revision has been sent
   */
  | 'PROGRESS'
  | 3
  /**
   * cannot resume from the asked revision (no longer retained, or more missed
   */
  | 'RESET'
  | 4

export type EventType__Output = typeof EventType[keyof typeof EventType]
