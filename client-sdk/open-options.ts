/**
 * What an application asks for, and its translation into the wire's OpenRequest. Options are
 * checked once, when `open()` is called, so a typo fails at startup and not at the first renewal.
 * The server remains the authority on every limit; these checks only give earlier, clearer errors.
 */
import { randomUUID } from 'node:crypto';
import type { OpenRequest } from '../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpeningSpec } from '../proto/gen/pinhole/v1/OpeningSpec.js';
import type { Source } from '../proto/gen/pinhole/v1/Source.js';
import { PinholeClientError } from './errors.js';
import { parseTtlSeconds } from './durations.js';
import type { Protocol } from './types.js';

/** A port range: `'tcp/5432'`, `'udp/5000-5010'`, or structured (`to` defaults to `from`). */
export type PortSpec = string | { readonly protocol: Protocol; readonly from: number; readonly to?: number };

/**
 * Who may connect: `'198.18.1.0/24'` or an address (a CIDR), `'group:NAME'` (a policy group),
 * `'host:NAME'` (a host identity), `'any'`; or structured.
 */
export type SourceSpec =
  | string
  | { readonly cidr: string }
  | { readonly group: string }
  | { readonly host: string }
  | { readonly any: true };

/** Options of `client.open()`. Give `app`, `ports`, or both. */
export interface OpenOptions {
  /** Application catalog id(s), e.g. `postgresql` (IANA service names where one exists). */
  readonly app?: string | readonly string[];
  /** Explicit port range(s). */
  readonly ports?: PortSpec | readonly PortSpec[];
  /** Who may connect (applies to every app/port given). Absent or empty = `any`, granted only where policy allows it. */
  readonly from?: SourceSpec | readonly SourceSpec[];
  /** The host's own addresses the opening applies to. Absent = all of them (from its certificate). */
  readonly destinations?: readonly string[];
  /** Requested term: seconds, or text like `90s`, `10m`, `1h`. Absent = the policy default. The server clamps it. */
  readonly ttl?: number | string;
  /** Why the host needs this, shown to administrators (at most 1024 bytes of UTF-8). */
  readonly description?: string;
  /** true: grant everything or nothing (a narrowed answer becomes DENIED). Default false (best effort). */
  readonly allOrNothing?: boolean;
  /**
   * When `open()` resolves: `granted` (default) once the server committed the lease; `realized`
   * once every firewall in scope reported it applied (polled with ListMine), so the port is really open.
   */
  readonly waitFor?: 'granted' | 'realized';
  /** Bound on waiting for `realized`, ms. Default: the client's `realizedTimeoutMs` (30 s). */
  readonly realizedTimeoutMs?: number;
  /**
   * How long to wait for an administrator's decision when the answer is PENDING, ms. Absent or 0:
   * do not wait, resolve with decision PENDING (call `opening.waitForDecision()` later).
   */
  readonly pendingTimeoutMs?: number;
  /** Cancels the whole `open()` (retries, waits); a lease granted meanwhile is released. */
  readonly signal?: AbortSignal;
  /** How long `open()` retries transient failures, ms. Default: the client's `openTimeoutMs` (30 s). */
  readonly openTimeoutMs?: number;
  /** The first request id (the idempotency key). Default: a random one. Re-opens always use new ids. */
  readonly requestId?: string;
}

/** A checked, normalized request that can be sent again with a new request id. */
export interface Intent {
  readonly openings: readonly OpeningSpec[];
  /** 0 = the policy default. */
  readonly ttlSeconds: number;
  readonly description: string;
  readonly allOrNothing: boolean;
}

const PORT_SPEC = /^(tcp|udp|sctp)\/(\d{1,5})(?:-(\d{1,5}))?$/i;
const ADDRESSISH = /^[0-9a-fA-F:.]+(\/\d{1,3})?$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function invalid(field: string, message: string): PinholeClientError {
  return new PinholeClientError('INVALID_ARGUMENT', `${field}: ${message}`);
}

function list<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

/** Parses one port spec (`tcp/5432`, `udp/5000-5010`, or structured). */
export function parsePortSpec(
  spec: PortSpec,
  field = 'ports',
): { protocol: 'TCP' | 'UDP' | 'SCTP'; from: number; to: number } {
  let protocol: string;
  let from: number;
  let to: number;
  if (typeof spec === 'string') {
    const m = PORT_SPEC.exec(spec.trim());
    if (m === null)
      throw invalid(
        field,
        `${JSON.stringify(spec)} is not a port spec; use PROTOCOL/PORT or PROTOCOL/FROM-TO, e.g. tcp/5432`,
      );
    protocol = m[1] ?? '';
    from = Number(m[2]);
    to = m[3] === undefined ? from : Number(m[3]);
  } else {
    protocol = spec.protocol;
    from = spec.from;
    to = spec.to ?? spec.from;
  }
  const upper = protocol.toUpperCase();
  if (upper !== 'TCP' && upper !== 'UDP' && upper !== 'SCTP')
    throw invalid(field, `protocol ${JSON.stringify(protocol)} is not tcp, udp or sctp`);
  for (const [name, port] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw invalid(`${field}.${name}`, `${port} is out of range; use 1-65535`);
  }
  if (to < from) throw invalid(field, `range ${from}-${to} ends before it starts`);
  return { protocol: upper, from, to };
}

/** Parses one source spec into the wire's Source. */
export function parseSourceSpec(spec: SourceSpec, field = 'from'): Source {
  if (typeof spec !== 'string') {
    if ('cidr' in spec) return parseSourceSpec(`cidr:${spec.cidr}`, field);
    if ('group' in spec) return parseSourceSpec(`group:${spec.group}`, field);
    if ('host' in spec) return parseSourceSpec(`host:${spec.host}`, field);
    return { any: true };
  }
  const text = spec.trim();
  if (text === 'any') return { any: true };
  const colon = text.indexOf(':');
  const prefix = colon > 0 ? text.slice(0, colon) : '';
  const rest = text.slice(colon + 1);
  if ((prefix === 'group' || prefix === 'host') && rest !== '') {
    if (rest.length > 128) throw invalid(field, `${prefix} name is longer than 128 characters`);
    return prefix === 'group' ? { group: rest } : { host: rest };
  }
  const cidr = prefix === 'cidr' ? rest : text;
  if (ADDRESSISH.test(cidr) && cidr.length <= 64 && (cidr.includes('.') || cidr.includes(':')))
    return { cidr };
  throw invalid(
    field,
    `${JSON.stringify(spec)} is not a source; use a CIDR (198.18.1.0/24), an address, group:NAME, host:NAME or any`,
  );
}

/** Checks and normalizes open options; throws INVALID_ARGUMENT naming the option. */
export function toIntent(o: OpenOptions): Intent {
  const apps = list(o.app);
  const ports = list(o.ports);
  if (apps.length + ports.length === 0)
    throw invalid('app', 'give app or ports (e.g. app: "postgresql" or ports: "tcp/5432")');
  if (apps.length + ports.length > 32)
    throw invalid('ports', 'at most 32 apps and port ranges in one opening');
  const sources = list(o.from).map((s, i) => parseSourceSpec(s, `from[${i}]`));
  if (sources.length > 64) throw invalid('from', 'at most 64 sources');
  const destinations = [...(o.destinations ?? [])];
  if (destinations.length > 16) throw invalid('destinations', 'at most 16 addresses');
  const description = o.description ?? '';
  if (Buffer.byteLength(description, 'utf8') > 1024)
    throw invalid('description', 'is longer than 1024 bytes of UTF-8');
  const openings: OpeningSpec[] = [
    ...apps.map((app, i): OpeningSpec => {
      if (app === '' || app.length > 64)
        throw invalid(`app[${i}]`, `${JSON.stringify(app)} is not a catalog id (1-64 characters)`);
      return { app, destinations, sources };
    }),
    ...ports.map((p, i): OpeningSpec => ({ ports: parsePortSpec(p, `ports[${i}]`), destinations, sources })),
  ];
  return {
    openings,
    ttlSeconds: o.ttl === undefined ? 0 : parseTtlSeconds(o.ttl),
    description,
    allOrNothing: o.allOrNothing ?? false,
  };
}

/** A fresh request id (the idempotency key of one Open intent). */
export function newRequestId(): string {
  return `sdk-${randomUUID()}`;
}

/** Checks a caller-chosen request id against the wire's rule. */
export function checkRequestId(id: string): string {
  if (!REQUEST_ID.test(id))
    throw invalid('requestId', `${JSON.stringify(id)} must be 1-128 characters of [A-Za-z0-9._:-]`);
  return id;
}

/** The wire request for an intent under one request id. */
export function toOpenRequest(intent: Intent, requestId: string): OpenRequest {
  return {
    requestId,
    openings: intent.openings.map((o) => ({ ...o })),
    requestedTtlSeconds: intent.ttlSeconds,
    description: intent.description,
    allOrNothing: intent.allOrNothing,
  };
}

/** `postgresql, tcp/8080 from 198.18.1.0/24`, for logs and the CLI. */
export function describeIntent(intent: Intent): string {
  const what = intent.openings.map(
    (o) =>
      o.app ??
      (o.ports
        ? `${String(o.ports.protocol).toLowerCase()}/${o.ports.from}${o.ports.to !== o.ports.from ? `-${o.ports.to}` : ''}`
        : '?'),
  );
  const from = (intent.openings[0]?.sources ?? []).map(
    (s) =>
      s.cidr ??
      (s.group !== undefined ? `group:${s.group}` : s.host !== undefined ? `host:${s.host}` : 'any'),
  );
  return `${what.join(', ')} from ${from.length === 0 ? 'any' : from.join(', ')}`;
}
