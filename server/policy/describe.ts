/** Formatting for reasons, narrowings and traces: one place, so every message reads the same way. */
import type { ConcreteRule } from '../core/types.js';
import { formatAddress, formatCidr, type Cidr, type CidrSet } from './net.js';

const MAX_LISTED = 6;

/** `a, b, c and 4 more`: keeps reasons one line even for large groups. */
export function list(items: readonly string[]): string {
  if (items.length === 0) return 'none';
  if (items.length <= MAX_LISTED) return items.join(', ');
  return `${items.slice(0, MAX_LISTED).join(', ')} and ${items.length - MAX_LISTED} more`;
}

export function formatSources(sets: readonly CidrSet[]): string {
  return list(sets.flatMap((s) => s.map(formatCidr)));
}

export function formatAddresses(addresses: readonly Cidr[]): string {
  return list(addresses.map(formatAddress));
}

/** A concrete rule as one line: `tcp/5432 from 198.18.1.0/24 to 198.18.0.2`. */
export function formatConcrete(r: ConcreteRule): string {
  const ports = r.portFrom === r.portTo ? `${r.portFrom}` : `${r.portFrom}-${r.portTo}`;
  return `${r.protocol}/${ports} from ${r.sourceCidr} to ${r.destination}`;
}

/** Merge concrete rules that differ only in adjacent or overlapping port ranges; keeps first-seen order. */
export function mergeConcrete(rules: readonly ConcreteRule[]): ConcreteRule[] {
  const groups = new Map<string, ConcreteRule[]>();
  for (const r of rules) {
    const key = `${r.protocol}|${r.destination}|${r.sourceCidr}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = []));
    g.push(r);
  }
  const out: ConcreteRule[] = [];
  for (const g of groups.values()) {
    const sorted = [...g].sort((a, b) => a.portFrom - b.portFrom);
    let cur: ConcreteRule | undefined;
    for (const r of sorted) {
      if (cur !== undefined && r.portFrom <= cur.portTo + 1) {
        if (r.portTo > cur.portTo) cur = { ...cur, portTo: r.portTo };
      } else {
        if (cur !== undefined) out.push(cur);
        cur = r;
      }
    }
    if (cur !== undefined) out.push(cur);
  }
  return out;
}
