/**
 * Port specs (`tcp/5432`, `udp/161-162`) and sets of inclusive port ranges. A port set is kept
 * normalized (sorted by protocol then start, overlapping and adjacent ranges merged) so equality is a
 * plain element-wise comparison and formatting is stable.
 */
import { PROTOCOLS, type PortRange, type Protocol } from '../core/types.js';

export type PortSet = readonly PortRange[];

const PROTO_ORDER: Record<Protocol, number> = { tcp: 0, udp: 1, sctp: 2 };
const SPEC = /^([a-z]+)\/(\d{1,5})(?:-(\d{1,5}))?$/;

export function isProtocol(s: string): s is Protocol {
  return (PROTOCOLS as readonly string[]).includes(s);
}

/** Does this look like a port spec (as opposed to an app id)? App ids never contain '/'. */
export function looksLikePortSpec(text: string): boolean {
  return text.includes('/');
}

/** Parse `proto/port[-port]`; returns the range or a message saying what is wrong and what is accepted. */
export function parsePortSpec(text: string): PortRange | string {
  const m = SPEC.exec(text);
  if (m === null)
    return `"${text}" is not a port spec; write PROTO/PORT or PROTO/FROM-TO, e.g. tcp/5432 or udp/161-162`;
  const [, proto = '', fromText = '', toText] = m;
  if (!isProtocol(proto))
    return `unknown protocol "${proto}" in "${text}"; use one of ${PROTOCOLS.join(', ')}`;
  const from = Number(fromText);
  const to = toText === undefined ? from : Number(toText);
  for (const p of [from, to]) {
    if (p < 1 || p > 65535) return `port ${p} in "${text}" is out of range; use 1-65535`;
  }
  if (to < from)
    return `"${text}" is an empty range; write the lower port first, e.g. ${proto}/${to}-${from}`;
  return { protocol: proto, from, to };
}

function cmp(a: PortRange, b: PortRange): number {
  return PROTO_ORDER[a.protocol] - PROTO_ORDER[b.protocol] || a.from - b.from || a.to - b.to;
}

export function normalizePorts(list: readonly PortRange[]): PortSet {
  const sorted = [...list].sort(cmp);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last.protocol === r.protocol && r.from <= last.to + 1) {
      if (r.to > last.to) out[out.length - 1] = { protocol: last.protocol, from: last.from, to: r.to };
    } else out.push({ protocol: r.protocol, from: r.from, to: r.to });
  }
  return out;
}

/**
 * A copy made at its own allocation site for port sets kept in the compiled policy (see longLived in
 * net.ts: sharing sites with per-decision temporaries makes V8 pretenure the temporaries).
 */
export function longLivedPorts(set: PortSet): PortSet {
  return Object.freeze(set.map((r) => Object.freeze({ protocol: r.protocol, from: r.from, to: r.to })));
}

export function intersectPorts(a: PortSet, b: PortSet): PortSet {
  const out: PortRange[] = [];
  for (const x of a)
    for (const y of b) {
      if (x.protocol !== y.protocol) continue;
      const from = Math.max(x.from, y.from);
      const to = Math.min(x.to, y.to);
      if (from <= to) out.push({ protocol: x.protocol, from, to });
    }
  return normalizePorts(out);
}

export function subtractPorts(a: PortSet, b: PortSet): PortSet {
  let current: PortRange[] = [...a];
  for (const hole of b) {
    const next: PortRange[] = [];
    for (const r of current) {
      if (r.protocol !== hole.protocol || hole.to < r.from || hole.from > r.to) {
        next.push(r);
        continue;
      }
      if (hole.from > r.from) next.push({ protocol: r.protocol, from: r.from, to: hole.from - 1 });
      if (hole.to < r.to) next.push({ protocol: r.protocol, from: hole.to + 1, to: r.to });
    }
    current = next;
  }
  return normalizePorts(current);
}

export function rangesOverlap(a: PortRange, b: PortRange): boolean {
  return a.protocol === b.protocol && a.from <= b.to && b.from <= a.to;
}

export function portsOverlap(a: PortSet, b: PortSet): boolean {
  return a.some((x) => b.some((y) => rangesOverlap(x, y)));
}

/** Does the set contain every port of `[from, to]` on `protocol`? */
export function portsCover(set: PortSet, protocol: Protocol, from: number, to: number): boolean {
  return set.some((r) => r.protocol === protocol && r.from <= from && to <= r.to);
}

export function portSetsEqual(a: PortSet, b: PortSet): boolean {
  return a.length === b.length && a.every((x, i) => cmp(x, b[i] as PortRange) === 0);
}

export function formatRange(r: PortRange): string {
  return r.from === r.to ? `${r.protocol}/${r.from}` : `${r.protocol}/${r.from}-${r.to}`;
}

export function formatPorts(set: PortSet): string {
  return set.length === 0 ? 'none' : set.map(formatRange).join(', ');
}

export function protocolOrder(p: Protocol): number {
  return PROTO_ORDER[p];
}
