/**
 * The Pinhole client SDK for applications: open the ports a service needs at startup, keep the
 * leases alive, re-open after server state loss, release on exit. See client-sdk/README.md.
 *
 * ```ts
 * const client = createClient({ server: '127.0.0.1:7443', certDir: 'certs', identity: 'host-web-1', releaseOnExit: true });
 * const opening = await client.open({ app: 'postgresql', from: ['group:db-replicas'], ttl: '10m', waitFor: 'realized' });
 * opening.on('revoked', ({ reason }) => console.error(`revoked: ${reason}`));
 * ```
 */

/** Creates a {@link PinholeClient}. */
export { createClient, PinholeClient } from './client.js';
/** Options of {@link createClient} and its PEM material. */
export type { ClientOptions, TlsOptions } from './client.js';
/** One opening and its lease; an EventEmitter of {@link OpeningEvents}. */
export { Opening } from './opening.js';
/** Events, states and event payloads of an {@link Opening}; options of its wait methods. */
export type {
  WaitOptions,
  OpeningEvents,
  OpeningState,
  ReopenReason,
  RenewedEvent,
  NarrowedEvent,
  RevokedEvent,
  LostEvent,
  ReopenedEvent,
} from './opening-events.js';
/** What `client.open()` takes. */
export type { OpenOptions, PortSpec, SourceSpec } from './open-options.js';
/** The SDK's error and its codes. */
export { PinholeClientError, isPinholeClientError, RETRY_AFTER_METADATA_KEY } from './errors.js';
/** Stable error codes of {@link PinholeClientError}. */
export type { ClientErrorCode } from './errors.js';
/** Data the SDK hands out: decisions, leases, rules. */
export type {
  ClientLogger,
  Decision,
  EndReason,
  LeaseInfo,
  LeaseState,
  Narrowing,
  OpeningDecision,
  Outcome,
  Protocol,
  Rule,
} from './types.js';
/** Formats a rule as `tcp/5432 from 198.18.1.0/24 to 198.18.0.2`. */
export { describeRule } from './types.js';
/** Parse durations (`90s`, `10m`, `1h30m`) the way `ttl` does. */
export { parseDurationMs, parseTtlSeconds } from './durations.js';
