/**
 * Address and CIDR arithmetic for policy. A CIDR is kept as an inclusive [start, end] range of bigints so
 * containment is two comparisons and IPv4/IPv6 share one code path. Two CIDRs are always either nested
 * or disjoint, which is what keeps every set operation below a simple merge of sorted lists.
 */
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface Cidr {
  readonly family: Family;
  readonly prefix: number;
  readonly start: bigint;
  readonly end: bigint;
}

/** A canonical set of CIDRs of one family: sorted by start, pairwise disjoint, sibling halves merged. */
export type CidrSet = readonly Cidr[];

/** Requested or allowed sources split by family, because only same-family pairs make concrete rules. */
export interface FamilySets {
  readonly v4: CidrSet;
  readonly v6: CidrSet;
}

export const EMPTY_SETS: FamilySets = { v4: [], v6: [] };

const WIDTH: Record<Family, number> = { 4: 32, 6: 128 };

export function bitsOf(family: Family): number {
  return WIDTH[family];
}

function makeCidr(family: Family, start: bigint, prefix: number): Cidr {
  const hostBits = BigInt(WIDTH[family] - prefix);
  const size = 1n << hostBits;
  const network = (start >> hostBits) << hostBits;
  return { family, prefix, start: network, end: network + size - 1n };
}

function bytesToBigint(bytes: readonly number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function bigintToBytes(v: bigint, count: number): number[] {
  const out = new Array<number>(count);
  for (let i = count - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * A copy made at its own allocation site for values kept in long-lived caches. V8 pretenures an
 * allocation site whose objects tend to survive; if cache entries came from the same sites as the
 * per-decision temporaries, those temporaries would be allocated in old space too and every scavenge
 * would get slower as the policy grows (measured: 3x at 10,000 rules).
 */
export function longLived(c: Cidr): Cidr {
  return Object.freeze({ family: c.family, prefix: c.prefix, start: c.start, end: c.end });
}

/** Long-lived copy of a set (see longLived). */
export function longLivedSets(s: FamilySets): FamilySets {
  return Object.freeze({ v4: Object.freeze(s.v4.map(longLived)), v6: Object.freeze(s.v6.map(longLived)) });
}

// Parsing is on the hot path (request sources, directory addresses): memoize by input text.
const parseCache = new Map<string, Cidr | null>();
const PARSE_CACHE_MAX = 50_000;

function remember(key: string, value: Cidr | null): Cidr | null {
  if (parseCache.size >= PARSE_CACHE_MAX) parseCache.clear();
  parseCache.set(key, value);
  return value;
}

/** Parse `ADDRESS` (as a /32 or /128) or `ADDRESS/PREFIX`; host bits are masked off. null if invalid. */
export function parseCidr(text: string): Cidr | null {
  const cached = parseCache.get(text);
  if (cached !== undefined) return cached;
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  // Only dotted quads for IPv4: ipaddr.js would also accept "10" or "0x0a000001", which policy authors
  // never mean.
  let family: Family;
  if (ipaddr.IPv4.isValidFourPartDecimal(addrText)) family = 4;
  else if (ipaddr.IPv6.isValid(addrText) && !addrText.includes('%')) family = 6;
  else return remember(text, null);
  let prefix = WIDTH[family];
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return remember(text, null);
    prefix = Number(prefixText);
    if (prefix > WIDTH[family]) return remember(text, null);
  }
  const bytes = ipaddr.parse(addrText).toByteArray();
  const c = makeCidr(family, bytesToBigint(bytes), prefix);
  return remember(text, longLived(c));
}

/** Parse a single address (no prefix). */
export function parseAddress(text: string): Cidr | null {
  if (text.includes('/')) return null;
  return parseCidr(text);
}

// Keyed by number for IPv4: turning a bigint into a string key on every call costs more than the
// formatting it saves.
const format4 = new Map<number, string>();
const format6 = new Map<bigint, string>();

/** The address part in normalized form: dotted quad or RFC 5952. */
export function formatAddress(c: Cidr): string {
  const hit = c.family === 4 ? format4.get(Number(c.start)) : format6.get(c.start);
  if (hit !== undefined) return hit;
  const bytes = bigintToBytes(c.start, c.family === 4 ? 4 : 16);
  const addr = ipaddr.fromByteArray(bytes);
  const text = addr.kind() === 'ipv6' ? (addr as ipaddr.IPv6).toRFC5952String() : addr.toString();
  if (format4.size + format6.size >= PARSE_CACHE_MAX) {
    format4.clear();
    format6.clear();
  }
  if (c.family === 4) format4.set(Number(c.start), text);
  else format6.set(c.start, text);
  return text;
}

/** `ADDRESS/PREFIX`, always with the prefix. */
export function formatCidr(c: Cidr): string {
  return `${formatAddress(c)}/${c.prefix}`;
}

/** Normalize an address string (throws nothing; returns null if invalid). */
export function normalizeAddress(text: string): string | null {
  const c = parseAddress(text);
  return c === null ? null : formatAddress(c);
}

export function hostCidr(address: string): Cidr | null {
  return parseAddress(address);
}

export function anyCidr(family: Family): Cidr {
  return makeCidr(family, 0n, 0);
}

export function contains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.start <= inner.start && inner.end <= outer.end;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end;
}

function cmp(a: Cidr, b: Cidr): number {
  if (a.start !== b.start) return a.start < b.start ? -1 : 1;
  return a.prefix - b.prefix;
}

function areSiblings(a: Cidr, b: Cidr): boolean {
  if (a.prefix !== b.prefix || a.prefix === 0 || a.end + 1n !== b.start) return false;
  // `a` must be the lower half of its parent: its start aligned to the parent's size.
  const parentSize = 1n << BigInt(WIDTH[a.family] - a.prefix + 1);
  return a.start % parentSize === 0n;
}

/** Canonical form of any list of same-family CIDRs. */
export function canonical(list: readonly Cidr[]): CidrSet {
  if (list.length <= 1) return list;
  const sorted = [...list].sort(cmp);
  const stack: Cidr[] = [];
  for (const c of sorted) {
    const top = stack[stack.length - 1];
    if (top !== undefined && contains(top, c)) continue;
    stack.push(c);
    // Merge sibling halves upward: 10.0.0.0/25 + 10.0.0.128/25 = 10.0.0.0/24, possibly cascading.
    for (;;) {
      const b = stack[stack.length - 1];
      const a = stack[stack.length - 2];
      if (a === undefined || b === undefined || !areSiblings(a, b)) break;
      stack.length -= 2;
      stack.push(makeCidr(a.family, a.start, a.prefix - 1));
    }
  }
  return stack;
}

export function union(a: CidrSet, b: CidrSet): CidrSet {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return canonical([...a, ...b]);
}

export function intersect(a: CidrSet, b: CidrSet): CidrSet {
  if (a.length === 0 || b.length === 0) return [];
  const out: Cidr[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as Cidr;
    const y = b[j] as Cidr;
    if (contains(x, y)) {
      out.push(y);
      j++;
    } else if (contains(y, x)) {
      out.push(x);
      i++;
    } else if (x.start < y.start) i++;
    else j++;
  }
  return canonical(out);
}

/** `a` minus `b`, splitting CIDRs of `a` around the holes `b` punches into them. */
function subtractOne(a: Cidr, holes: readonly Cidr[]): Cidr[] {
  if (holes.length === 0) return [a];
  if (holes.some((h) => contains(h, a))) return [];
  const width = WIDTH[a.family];
  const lower = makeCidr(a.family, a.start, a.prefix + 1);
  const upper = makeCidr(a.family, a.start + (1n << BigInt(width - a.prefix - 1)), a.prefix + 1);
  return [
    ...subtractOne(
      lower,
      holes.filter((h) => overlaps(h, lower)),
    ),
    ...subtractOne(
      upper,
      holes.filter((h) => overlaps(h, upper)),
    ),
  ];
}

export function subtract(a: CidrSet, b: CidrSet): CidrSet {
  if (a.length === 0 || b.length === 0) return a;
  const out: Cidr[] = [];
  for (const x of a) {
    const holes = b.filter((y) => overlaps(x, y));
    out.push(...subtractOne(x, holes));
  }
  return canonical(out);
}

export function setsEqual(a: CidrSet, b: CidrSet): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Cidr;
    const y = b[i] as Cidr;
    if (x.start !== y.start || x.prefix !== y.prefix || x.family !== y.family) return false;
  }
  return true;
}

export function setsOverlap(a: CidrSet, b: CidrSet): boolean {
  for (const x of a) for (const y of b) if (overlaps(x, y)) return true;
  return false;
}

/** Number of addresses in a canonical set. */
export function setSize(s: CidrSet): bigint {
  let n = 0n;
  for (const c of s) n += c.end - c.start + 1n;
  return n;
}

export function setContainsAddress(s: CidrSet, address: Cidr): boolean {
  return s.some((c) => contains(c, address));
}

/** Split a mixed list into canonical per-family sets. */
export function toFamilySets(list: readonly Cidr[]): FamilySets {
  return {
    v4: canonical(list.filter((c) => c.family === 4)),
    v6: canonical(list.filter((c) => c.family === 6)),
  };
}

export function familySet(sets: FamilySets, family: Family): CidrSet {
  return family === 4 ? sets.v4 : sets.v6;
}

export function unionFamilies(a: FamilySets, b: FamilySets): FamilySets {
  return { v4: union(a.v4, b.v4), v6: union(a.v6, b.v6) };
}

export function formatSet(s: CidrSet): string[] {
  return s.map(formatCidr);
}
