/**
 * Set-element keys: turning lease rules into the `src . proto . ports . dst` keys of the `open4`/`open6`
 * sets, one canonical text per key so that what we render and what `nft -j list` prints compare equal,
 * and the overlap test that decides which set ("layer") an element may go into.
 */
import ipaddr from 'ipaddr.js';
import { EnforcerError } from './errors.js';
import type { EnforcerRule, Protocol } from './types.js';

/** Address family of a key: the v4 sets or the v6 sets. */
export type Family = 4 | 6;

/** A normalised set-element key. */
export interface ElementKey {
  readonly family: Family;
  /** Source network, host bits cleared. */
  readonly srcNet: bigint;
  readonly srcLen: number;
  readonly protocol: Protocol;
  readonly portFrom: number;
  readonly portTo: number;
  readonly dst: bigint;
  /** nft syntax of the key, e.g. `198.18.1.0/24 . tcp . 5432-5433 . 198.18.1.2`; also the identity. */
  readonly text: string;
}

const PROTOCOLS: Readonly<Record<string, Protocol>> = {
  tcp: 'tcp',
  udp: 'udp',
  sctp: 'sctp',
  '6': 'tcp',
  '17': 'udp',
  '132': 'sctp',
};

function bits(family: Family): number {
  return family === 4 ? 32 : 128;
}

/** Parses one address strictly (four-part decimal for v4, no zone ids for v6). */
function parseAddress(text: string): { family: Family; value: bigint } | undefined {
  // IPv4 fast path (most keys): validating 10k leases through ipaddr.js alone took ~190 ms.
  // Leading zeros are refused: inet_aton would read them as octal.
  if (/^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(text)) {
    let n = 0;
    for (const part of text.split('.')) {
      const octet = Number(part);
      if (octet > 255) return undefined;
      n = n * 256 + octet;
    }
    return { family: 4, value: BigInt(n) };
  }
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  const addr = ipaddr.IPv6.parse(text);
  let value = 0n;
  for (const byte of addr.toByteArray()) value = (value << 8n) | BigInt(byte);
  return { family: 6, value };
}

/** Canonical text of an address value (RFC 5952 for v6, which is also how nft prints it). */
export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const bytes: number[] = [];
  for (let i = bits(family) / 8 - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

/** The network mask of a `len`-bit prefix as a number. */
export function mask(family: Family, len: number): bigint {
  const all = (1n << BigInt(bits(family))) - 1n;
  return (all >> BigInt(bits(family) - len)) << BigInt(bits(family) - len);
}

/** `addr` or `addr/len` as nft prints it: a full-length prefix is printed as the bare address. */
function formatPrefix(family: Family, net: bigint, len: number): string {
  const addr = formatAddress(family, net);
  return len === bits(family) ? addr : `${addr}/${len}`;
}

/** Parses `addr[/len]` into a network with host bits cleared. */
export function parseCidr(text: string): { family: Family; net: bigint; len: number } | undefined {
  const slash = text.indexOf('/');
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (addr === undefined) return undefined;
  const lenText = slash < 0 ? String(bits(addr.family)) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > bits(addr.family)) return undefined;
  return { family: addr.family, net: addr.value & mask(addr.family, len), len };
}

function keyText(
  family: Family,
  srcNet: bigint,
  srcLen: number,
  protocol: string,
  portFrom: number,
  portTo: number,
  dst: string,
): string {
  const ports = portFrom === portTo ? String(portFrom) : `${portFrom}-${portTo}`;
  return `${formatPrefix(family, srcNet, srcLen)} . ${protocol} . ${ports} . ${dst}`;
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 65535;
}

/**
 * Validates and normalises one rule. `field` names the rule in error messages
 * (e.g. `upserts[2].rules[0]`). Host bits of the source are cleared: `198.18.1.5/24` means the /24.
 */
export function ruleToKey(rule: EnforcerRule, field: string): ElementKey {
  const bad = (what: string): EnforcerError => new EnforcerError('INVALID_LEASE', `${field}.${what}`);
  // Leases arrive from the wire: check the union at run time too.
  const protocol = (['tcp', 'udp', 'sctp'] as const).find((p) => p === (rule.protocol as string));
  if (protocol === undefined) {
    throw bad(`protocol: ${JSON.stringify(rule.protocol)} is not supported; use tcp, udp or sctp`);
  }
  if (!isPort(rule.portFrom) || !isPort(rule.portTo) || rule.portFrom > rule.portTo) {
    throw bad(
      `portFrom..portTo: ${rule.portFrom}..${rule.portTo} is not a port range; use 0-65535 with portFrom <= portTo`,
    );
  }
  const src = parseCidr(rule.sourceCidr);
  if (src === undefined)
    throw bad(`sourceCidr: ${JSON.stringify(rule.sourceCidr)} is not an address or CIDR`);
  const dst = parseAddress(rule.destination);
  if (dst === undefined)
    throw bad(`destination: ${JSON.stringify(rule.destination)} is not a single address`);
  if (dst.family !== src.family) {
    throw bad(
      `destination: ${rule.destination} is IPv${dst.family} but sourceCidr ${rule.sourceCidr} is IPv${src.family}; use one family`,
    );
  }
  const dstText = formatAddress(dst.family, dst.value);
  return {
    family: src.family,
    srcNet: src.net,
    srcLen: src.len,
    protocol,
    portFrom: rule.portFrom,
    portTo: rule.portTo,
    dst: dst.value,
    text: keyText(src.family, src.net, src.len, protocol, rule.portFrom, rule.portTo, dstText),
  };
}

/** Keys that can only overlap when these are equal: same family, protocol and destination. */
export function bucketOf(key: ElementKey): string {
  return `${key.family}|${key.protocol}|${key.dst}`;
}

/**
 * Whether two keys match a common packet. The kernel's concatenated-range set (pipapo) rejects an element
 * whose start or end falls inside another element with "File exists", failing the whole transaction, so
 * overlapping keys must live in different sets.
 */
export function keysOverlap(a: ElementKey, b: ElementKey): boolean {
  if (a.family !== b.family || a.protocol !== b.protocol || a.dst !== b.dst) return false;
  if (a.portTo < b.portFrom || b.portTo < a.portFrom) return false;
  const len = Math.min(a.srcLen, b.srcLen);
  const m = mask(a.family, len);
  return (a.srcNet & m) === (b.srcNet & m);
}

/** Whether `key` matches the single flow `src -> dst` on `protocol`/`dport` (all canonical values). */
export function keyMatchesFlow(
  key: ElementKey,
  src: bigint,
  protocol: Protocol,
  dport: number,
  dst: bigint,
): boolean {
  return (
    key.protocol === protocol &&
    key.dst === dst &&
    dport >= key.portFrom &&
    dport <= key.portTo &&
    (src & mask(key.family, key.srcLen)) === key.srcNet
  );
}

/** Parses a single address to its family and value, or undefined. */
export function addressValue(text: string): { family: Family; value: bigint } | undefined {
  return parseAddress(text);
}

/** Subnet mask text for `len` (conntrack's `--mask-src` wants a mask, not a prefix length). */
export function maskText(family: Family, len: number): string {
  return formatAddress(family, mask(family, len));
}

/**
 * Canonical key text of an element from `nft -j list` (`elem.val.concat`), or undefined when the value is
 * not a 4-part concatenation. Foreign shapes (address ranges, protocol numbers) still get a text that nft
 * accepts back, so a tamperer's element can be deleted by it.
 */
export function keyTextFromJson(family: Family, concat: unknown): string | undefined {
  if (!Array.isArray(concat) || concat.length !== 4) return undefined;
  const [src, proto, port, dst] = concat as unknown[];
  const addr = (v: unknown): string | undefined => {
    if (typeof v !== 'string') return undefined;
    const a = parseAddress(v);
    return a === undefined ? undefined : formatAddress(a.family, a.value);
  };
  let srcText: string | undefined;
  if (typeof src === 'string') srcText = addr(src);
  else if (isRecord(src) && isRecord(src.prefix)) {
    const c = parseCidr(`${String(src.prefix.addr)}/${String(src.prefix.len)}`);
    if (c !== undefined) srcText = formatPrefix(c.family, c.net, c.len);
  } else if (isRecord(src) && Array.isArray(src.range)) {
    const [lo, hi] = src.range as unknown[];
    const l = addr(lo);
    const h = addr(hi);
    if (l !== undefined && h !== undefined) srcText = `${l}-${h}`;
  }
  const protoText =
    typeof proto === 'string' || typeof proto === 'number'
      ? (PROTOCOLS[String(proto)] ?? String(proto))
      : undefined;
  let portText: string | undefined;
  if (typeof port === 'number') portText = String(port);
  else if (isRecord(port) && Array.isArray(port.range))
    portText = (port.range as unknown[]).map(String).join('-');
  const dstText = addr(dst);
  if (srcText === undefined || protoText === undefined || portText === undefined || dstText === undefined)
    return undefined;
  if (parseAddress(dstText)?.family !== family) return undefined;
  return `${srcText} . ${protoText} . ${portText} . ${dstText}`;
}

/** Narrows to a plain object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
