/**
 * Wire <-> domain. Owns field validation: every refusal names the field path, what was wrong and
 * what is accepted, e.g. `openings[0].ports.from: 70000 is out of range; use 1-65535`.
 */
import { invalid } from '../core/errors.js';
import { parseAddress, parseCidr } from '../core/addresses.js';
import type {
  ConcreteRule,
  Decision,
  Lease,
  OpenAnswer,
  OpenRequest,
  OpeningSpec,
  Protocol,
  Source,
} from '../core/types.js';
import type { ConcreteRule as WireConcreteRule } from '../../proto/gen/pinhole/v1/ConcreteRule.js';
import type { OpenRequest__Output } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpeningSpec__Output } from '../../proto/gen/pinhole/v1/OpeningSpec.js';
import type { Source__Output } from '../../proto/gen/pinhole/v1/Source.js';
import type { Lease as WireLease } from '../../proto/gen/pinhole/v1/Lease.js';
import type { Decision as WireDecision } from '../../proto/gen/pinhole/v1/Decision.js';
import type { OpenResponse } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import type { EndReason as WireEndReason } from '../../proto/gen/pinhole/v1/EndReason.js';
import type { LeaseState as WireLeaseState } from '../../proto/gen/pinhole/v1/LeaseState.js';
import { APP_PATTERN, LIMITS, NAME_PATTERN, REQUEST_ID_PATTERN } from './limits.js';

const WIRE_PROTOCOLS: Readonly<Record<string, Protocol>> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

export function decodeRequestId(value: string, field = 'request_id'): string {
  if (value.length === 0)
    throw invalid(field, 'is empty; send a client-chosen id (the idempotency key) of 1-128 characters');
  if (value.length > LIMITS.requestIdMax)
    throw invalid(field, `is ${value.length} characters long; use at most ${LIMITS.requestIdMax}`);
  if (!REQUEST_ID_PATTERN.test(value))
    throw invalid(field, `${JSON.stringify(value)} has characters outside [A-Za-z0-9._:-]`);
  return value;
}

export function decodeLeaseId(value: string): string {
  if (value.length === 0 || value.length > LIMITS.nameMax || !NAME_PATTERN.test(value)) {
    throw invalid(
      'lease_id',
      `${JSON.stringify(value.slice(0, 40))} is not a lease id; use the id an Open answer returned`,
    );
  }
  return value;
}

export function decodeTtl(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > LIMITS.ttlMaxSeconds) {
    throw invalid(
      field,
      `${value} is out of range; use 1-${LIMITS.ttlMaxSeconds} seconds, or 0 for the policy default`,
    );
  }
  return value;
}

export function decodeOpenRequest(w: OpenRequest__Output): OpenRequest {
  const requestId = decodeRequestId(w.requestId);
  if (w.openings.length === 0)
    throw invalid('openings', 'is empty; list at least one opening (an app or a port range)');
  if (w.openings.length > LIMITS.openingsMax)
    throw invalid('openings', `has ${w.openings.length} entries; send at most ${LIMITS.openingsMax}`);
  const openings = w.openings.map((o, i) => decodeOpening(o, `openings[${i}]`));
  const requestedTtlSeconds = decodeTtl(w.requestedTtlSeconds, 'requested_ttl_seconds');
  const bytes = Buffer.byteLength(w.description, 'utf8');
  if (bytes > LIMITS.descriptionMaxBytes) {
    throw invalid(
      'description',
      `is ${bytes} bytes; use at most ${LIMITS.descriptionMaxBytes} bytes of UTF-8`,
    );
  }
  return {
    requestId,
    openings,
    requestedTtlSeconds,
    description: w.description,
    allOrNothing: w.allOrNothing,
  };
}

function decodeOpening(o: OpeningSpec__Output, path: string): OpeningSpec {
  if (o.destinations.length > LIMITS.destinationsMax) {
    throw invalid(
      `${path}.destinations`,
      `has ${o.destinations.length} entries; send at most ${LIMITS.destinationsMax}`,
    );
  }
  const destinations = o.destinations.map((d, j) => {
    const parsed = parseAddress(d);
    if (!parsed.ok)
      throw invalid(`${path}.destinations[${j}]`, `${parsed.error}; give one of the host's own addresses`);
    return parsed.value;
  });
  if (o.sources.length > LIMITS.sourcesMax)
    throw invalid(`${path}.sources`, `has ${o.sources.length} entries; send at most ${LIMITS.sourcesMax}`);
  const sources = o.sources.map((s, j) => decodeSource(s, `${path}.sources[${j}]`));
  if (o.what === 'app') {
    const app = o.app ?? '';
    if (app.length === 0 || app.length > LIMITS.appMax || !APP_PATTERN.test(app)) {
      throw invalid(
        `${path}.app`,
        `${JSON.stringify(app.slice(0, 80))} is not an application id; use a catalog id such as "postgresql"`,
      );
    }
    return { app, destinations, sources };
  }
  if (o.what === 'ports' && o.ports != null) {
    // An enum value this contract does not know arrives as a number despite the generated type.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion
    const protocol = WIRE_PROTOCOLS[String(o.ports.protocol)];
    if (protocol === undefined) {
      throw invalid(
        `${path}.ports.protocol`,
        `${JSON.stringify(o.ports.protocol)} is not a protocol; use TCP, UDP or SCTP`,
      );
    }
    const from = o.ports.from;
    const to = o.ports.to === 0 ? from : o.ports.to;
    if (from < 1 || from > 65535) throw invalid(`${path}.ports.from`, `${from} is out of range; use 1-65535`);
    if (to < 1 || to > 65535)
      throw invalid(`${path}.ports.to`, `${to} is out of range; use 1-65535 (or 0 for a single port)`);
    if (to < from) throw invalid(`${path}.ports.to`, `${to} is below from (${from}); give from <= to`);
    return { ports: { protocol, from, to }, destinations, sources };
  }
  throw invalid(path, 'names neither an app nor ports; set exactly one of app or ports');
}

function decodeSource(s: Source__Output, path: string): Source {
  switch (s.kind) {
    case 'cidr': {
      const text = s.cidr ?? '';
      if (text.length > LIMITS.cidrMax)
        throw invalid(`${path}.cidr`, `is ${text.length} characters; use at most ${LIMITS.cidrMax}`);
      const parsed = parseCidr(text);
      if (!parsed.ok)
        throw invalid(`${path}.cidr`, `${parsed.error}; use ADDRESS/PREFIX such as 198.18.1.0/24`);
      return { kind: 'cidr', cidr: parsed.value };
    }
    case 'group':
    case 'host': {
      const name = (s.kind === 'group' ? s.group : s.host) ?? '';
      if (name.length === 0 || name.length > LIMITS.nameMax || !NAME_PATTERN.test(name)) {
        throw invalid(
          `${path}.${s.kind}`,
          `${JSON.stringify(name.slice(0, 80))} is not a ${s.kind} name; use 1-128 characters of [A-Za-z0-9._-]`,
        );
      }
      return { kind: s.kind, name };
    }
    case 'any':
      if (s.any !== true)
        throw invalid(`${path}.any`, 'is false; set any: true, or name a cidr, group or host');
      return { kind: 'any' };
    case undefined:
    default:
      throw invalid(path, 'is empty; set one of cidr, group, host or any');
  }
}

const WIRE_STATE: Readonly<Record<Lease['state'], WireLeaseState>> = {
  pending: 'LEASE_PENDING',
  granted: 'LEASE_GRANTED',
  realized: 'LEASE_REALIZED',
  ended: 'LEASE_ENDED',
};
const WIRE_END: Readonly<Record<NonNullable<Lease['endReason']>, WireEndReason>> = {
  released: 'RELEASED',
  expired: 'EXPIRED',
  revoked: 'REVOKED',
  policy: 'POLICY',
};

export function encodeEndReason(r: Lease['endReason']): WireEndReason {
  return r === undefined ? 'END_REASON_UNSPECIFIED' : WIRE_END[r];
}

function encodeRule(r: ConcreteRule): WireConcreteRule {
  return {
    protocol: r.protocol.toUpperCase() as 'TCP' | 'UDP' | 'SCTP',
    portFrom: r.portFrom,
    portTo: r.portTo,
    sourceCidr: r.sourceCidr,
    destination: r.destination,
  };
}

export function encodeLease(l: Lease, serverEpoch: string): WireLease {
  return {
    id: l.id,
    host: l.host,
    requestId: l.requestId,
    rules: l.rules.map(encodeRule),
    ttlSeconds: l.ttlSeconds,
    grantedAtUnixMs: String(l.grantedAtMs),
    expiresAtUnixMs: String(l.expiresAtMs),
    maxLifetimeEndsAtUnixMs: String(l.maxLifetimeEndsAtMs),
    renewedAtUnixMs: String(l.renewedAtMs),
    revision: String(l.revision),
    serverEpoch,
    state: WIRE_STATE[l.state],
    ruleId: l.ruleId,
    description: l.description,
    receipt: l.receipt,
    endReason: encodeEndReason(l.endReason),
    endDetail: l.endDetail ?? '',
  };
}

export function encodeDecision(d: Decision): WireDecision {
  return {
    outcome: d.outcome,
    ruleId: d.ruleId,
    reason: d.reason,
    narrowings: d.narrowings.map((n) => ({ ...n })),
    wouldAllow: d.wouldAllow,
    openings: d.openings.map((o) => ({ ...o })),
    rules: d.rules.map(encodeRule),
    ttlSeconds: d.ttlSeconds,
  };
}

export function encodeOpenAnswer(a: OpenAnswer): OpenResponse {
  return {
    decision: encodeDecision(a.decision),
    serverEpoch: a.serverEpoch,
    ...(a.lease === undefined ? {} : { lease: encodeLease(a.lease, a.serverEpoch) }),
    ...(a.pendingId === undefined ? {} : { pendingId: a.pendingId }),
  };
}
