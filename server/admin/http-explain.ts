/**
 * `POST /api/explain` body -> the what-if question for AdminService.explain. The body speaks
 * the policy file's own vocabulary, so an admin can paste from a rule: `open` is app ids or
 * `PROTO/PORT[-PORT]`, `from` is CIDRs, group names, `host:NAME`, `group:NAME` or `any`, `ttl`
 * a duration (`10m`) or seconds.
 */
import { invalid } from '../core/errors.js';
import { parseAddress, parseCidr } from '../core/addresses.js';
import type { OpenRequest, OpeningSpec, PortRange, Protocol, Source } from '../core/types.js';
import { parseDuration } from '../policy/durations.js';
import { LIMITS } from '../rpc/limits.js';
import { stringField, stringListField, type JsonObject } from './http-body.js';

const NAME = /^[A-Za-z0-9._-]{1,128}$/;
const APP = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const PORTS = /^(tcp|udp|sctp)\/(\d{1,5})(?:-(\d{1,5}))?$/i;

export interface ExplainQuestion {
  readonly who: { readonly host: string; readonly addresses: readonly string[] };
  readonly request: OpenRequest;
}

function port(text: string, field: string): number {
  const n = Number(text);
  if (n < 1 || n > 65535) throw invalid(field, `port ${text} is out of range; use 1-65535`);
  return n;
}

function opening(text: string, field: string, sources: readonly Source[]): OpeningSpec {
  const m = PORTS.exec(text);
  if (m !== null) {
    const protocol = (m[1] ?? '').toLowerCase() as Protocol;
    const from = port(m[2] ?? '', field);
    const to = m[3] === undefined ? from : port(m[3], field);
    if (to < from) throw invalid(field, `${text}: the range ends below its start; write LOW-HIGH`);
    const ports: PortRange = { protocol, from, to };
    return { ports, destinations: [], sources };
  }
  if (!APP.test(text))
    throw invalid(
      field,
      `${JSON.stringify(text.slice(0, 80))} is neither an app id (postgresql) nor PROTO/PORT (tcp/5432, udp/5000-5010)`,
    );
  return { app: text, destinations: [], sources };
}

function source(text: string, field: string): Source {
  if (text === 'any') return { kind: 'any' };
  const prefixed = /^(host|group):(.*)$/.exec(text);
  if (prefixed !== null) {
    const kind = prefixed[1] === 'host' ? 'host' : 'group';
    const name = prefixed[2] ?? '';
    if (!NAME.test(name))
      throw invalid(
        field,
        `${JSON.stringify(name.slice(0, 80))} is not a ${kind} name; use 1-128 of A-Z a-z 0-9 . _ -`,
      );
    return { kind, name };
  }
  if (text.includes('/') || parseAddress(text).ok) {
    const c = parseCidr(text);
    if (!c.ok) throw invalid(field, `${c.error}; use ADDRESS/PREFIX such as 198.18.1.0/24`);
    return { kind: 'cidr', cidr: c.value };
  }
  // A bare name is a group, as in a policy rule's `from:`.
  if (!NAME.test(text))
    throw invalid(field, `${JSON.stringify(text.slice(0, 80))} is not a CIDR, group, host:NAME or any`);
  return { kind: 'group', name: text };
}

function ttlSeconds(body: JsonObject): number {
  const value = body['ttl'];
  if (value === undefined || value === null || value === '') return 0;
  const seconds =
    typeof value === 'number'
      ? value
      : typeof value === 'string'
        ? /^\d+$/.test(value)
          ? Number(value)
          : parseDuration(value)
        : NaN;
  if (typeof seconds === 'string') throw invalid('ttl', seconds);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > LIMITS.ttlMaxSeconds) {
    throw invalid(
      'ttl',
      `${JSON.stringify(value)} is out of range; use 1s-7d, or leave it empty for the policy default`,
    );
  }
  return seconds;
}

export function parseExplainBody(body: JsonObject): ExplainQuestion {
  const host = stringField(body, 'host', { required: true, maxBytes: 128 }).trim();
  if (!NAME.test(host))
    throw invalid(
      'host',
      `${JSON.stringify(host.slice(0, 80))} is not a host name; use the name in the host's certificate`,
    );
  const addresses = stringListField(body, 'addresses', LIMITS.destinationsMax).map((a, i) => {
    const p = parseAddress(a);
    if (!p.ok) throw invalid(`addresses[${i}]`, p.error);
    return p.value;
  });
  const sources = stringListField(body, 'from', LIMITS.sourcesMax).map((s, i) => source(s, `from[${i}]`));
  const open = stringListField(body, 'open', LIMITS.openingsMax);
  if (open.length === 0)
    throw invalid('open', 'is empty; name at least one app id or PROTO/PORT, e.g. postgresql or tcp/5432');
  const request: OpenRequest = {
    // Never stored: explain has no side effects, so the id only has to be well-formed.
    requestId: 'explain',
    openings: open.map((o, i) => opening(o, `open[${i}]`, sources)),
    requestedTtlSeconds: ttlSeconds(body),
    description: 'what-if from the admin console',
    allOrNothing: false,
  };
  return { who: { host, addresses }, request };
}
