/** Field limits of the wire contract (proto/pinhole/v1/*.proto documents the same numbers). */
export const LIMITS = {
  requestIdMax: 128,
  openingsMax: 32,
  destinationsMax: 16,
  sourcesMax: 64,
  nameMax: 128,
  appMax: 64,
  cidrMax: 64,
  descriptionMaxBytes: 1024,
  ttlMaxSeconds: 604_800,
} as const;

export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]+$/;
export const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;
export const APP_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
