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
  /** What `bucketOf` returns, computed once: keys are looked up by it for every placement. */
  readonly bucket: string;
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

/**
 * A four-part decimal IPv4 address as a number, or -1. Strict: no leading zeros (inet_aton would read
 * them as octal), octets 0-255. Whatever it accepts is already canonical text, as nft prints it.
 * A character loop, not a regex and split: it runs for every key and every listed element.
 */
function parseIPv4(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else return -1;
  }
  return digits === 0 || dots !== 3 ? -1 : value * 256 + octet;
}

/** Parses one address strictly (four-part decimal for v4, no zone ids for v6). */
function parseAddress(text: string): { family: Family; value: bigint } | undefined {
  // IPv4 fast path (most keys): validating 10k leases through ipaddr.js alone took ~190 ms.
  const v4 = parseIPv4(text);
  if (v4 >= 0) return { family: 4, value: BigInt(v4) };
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

function masks(width: number): bigint[] {
  const all = (1n << BigInt(width)) - 1n;
  return Array.from({ length: width + 1 }, (_, len) => (all >> BigInt(width - len)) << BigInt(width - len));
}
/** Masks by prefix length, computed once: the overlap test asks for them per placement. */
const MASKS: Readonly<Record<Family, readonly bigint[]>> = { 4: masks(32), 6: masks(128) };

/** The network mask of a `len`-bit prefix as a number. */
export function mask(family: Family, len: number): bigint {
  return MASKS[family][len] ?? 0n;
}

/** `addr` or `addr/len` as nft prints it: a full-length prefix is printed as the bare address. */
function formatPrefix(family: Family, net: bigint, len: number): string {
  const addr = formatAddress(family, net);
  return len === bits(family) ? addr : `${addr}/${len}`;
}

/** One to three decimal digits from `from` to the end of `text`, or -1. */
function prefixLength(text: string, from: number): number {
  const digits = text.length - from;
  if (digits < 1 || digits > 3) return -1;
  let len = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    len = len * 10 + (c - 48);
  }
  return len;
}

/** Parses `addr[/len]` into a network with host bits cleared. */
export function parseCidr(text: string): { family: Family; net: bigint; len: number } | undefined {
  const slash = text.indexOf('/');
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (addr === undefined) return undefined;
  const len = slash < 0 ? bits(addr.family) : prefixLength(text, slash + 1);
  if (len < 0) return undefined;
  if (len > bits(addr.family)) return undefined;
  return { family: addr.family, net: addr.value & mask(addr.family, len), len };
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 65535;
}

function protocolOf(p: string): Protocol | undefined {
  return p === 'tcp' || p === 'udp' || p === 'sctp' ? p : undefined;
}

function invalid(field: string | (() => string), what: string): EnforcerError {
  return new EnforcerError('INVALID_LEASE', `${typeof field === 'string' ? field : field()}.${what}`);
}

/** A parsed destination, with its canonical text and the overlap buckets of each protocol. */
interface Destination {
  readonly text: string;
  readonly family: Family;
  readonly value: bigint;
  readonly canonical: string;
  readonly buckets: Readonly<Record<Protocol, string>>;
}

/**
 * The last destination parsed. The leases of a batch mostly share a few destinations (often just this
 * host), so one entry saves the parse and, more, gives every key of that destination the same bucket
 * string (hashed once as a map key) and the same bigint instead of one of each per key.
 */
let lastDestination: Destination | undefined;

function destination(text: string): Destination | undefined {
  if (lastDestination?.text === text) return lastDestination;
  const dst = parseAddress(text);
  if (dst === undefined) return undefined;
  // An IPv4 address that parsed is already canonical text.
  const canonical = dst.family === 4 ? text : formatAddress(dst.family, dst.value);
  // The destination's canonical text names its family too.
  const buckets = { tcp: `tcp ${canonical}`, udp: `udp ${canonical}`, sctp: `sctp ${canonical}` };
  lastDestination = { text, family: dst.family, value: dst.value, canonical, buckets };
  return lastDestination;
}

/** The last key suffix built (see `keySuffix`). */
let lastSuffix:
  { dst: Destination; protocol: Protocol; portFrom: number; portTo: number; text: string } | undefined;

/**
 * ` . <protocol> . <ports> . <destination>`, the part of a key text after the source. A bulk batch
 * mostly repeats one, so the last is remembered: each key text is then one concatenation, not six.
 */
function keySuffix(dst: Destination, protocol: Protocol, portFrom: number, portTo: number): string {
  const last = lastSuffix;
  if (last?.dst === dst && last.protocol === protocol && last.portFrom === portFrom && last.portTo === portTo)
    return last.text;
  const ports = portFrom === portTo ? String(portFrom) : `${portFrom}-${portTo}`;
  const text = ` . ${protocol} . ${ports} . ${dst.canonical}`;
  lastSuffix = { dst, protocol, portFrom, portTo, text };
  return text;
}

/** IPv4 network masks by prefix length, as unsigned 32-bit numbers. */
const MASKS4 = Array.from({ length: 33 }, (_, len) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0));

/** `addr[/len]` of an IPv4 source: its network, prefix length and canonical text; undefined if not one. */
function parseSource4(text: string): { net: number; len: number; text: string } | undefined {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseIPv4(addrText);
  if (addr < 0) return undefined;
  const len = slash < 0 ? 32 : prefixLength(text, slash + 1);
  if (len < 0 || len > 32) return undefined;
  const net = (addr & (MASKS4[len] ?? 0)) >>> 0;
  // A parsed IPv4 address is canonical text already: only a masked prefix is formatted anew.
  if (len === 32) return { net, len, text: addrText };
  return { net, len, text: `${net === addr ? addrText : formatAddress(4, BigInt(net))}/${len}` };
}

/**
 * Validates and normalises one rule. `field` names the rule in error messages
 * (e.g. `upserts[2].rules[0]`; a function is called only for an error). Host bits of the source are
 * cleared: `198.18.1.5/24` means the /24. Runs for every rule of a 50k-lease batch: IPv4 sources take a
 * path of plain numbers, one bigint per key.
 */
export function ruleToKey(rule: EnforcerRule, field: string | (() => string)): ElementKey {
  // Leases arrive from the wire: check the union at run time too.
  const protocol = protocolOf(rule.protocol);
  if (protocol === undefined) {
    throw invalid(field, `protocol: ${JSON.stringify(rule.protocol)} is not supported; use tcp, udp or sctp`);
  }
  if (!isPort(rule.portFrom) || !isPort(rule.portTo) || rule.portFrom > rule.portTo) {
    throw invalid(
      field,
      `portFrom..portTo: ${rule.portFrom}..${rule.portTo} is not a port range; use 0-65535 with portFrom <= portTo`,
    );
  }
  let family: Family;
  let srcNet: bigint;
  let srcLen: number;
  let srcText: string;
  const src4 = parseSource4(rule.sourceCidr);
  if (src4 !== undefined) {
    family = 4;
    srcNet = BigInt(src4.net);
    srcLen = src4.len;
    srcText = src4.text;
  } else {
    const src = parseCidr(rule.sourceCidr);
    if (src === undefined)
      throw invalid(field, `sourceCidr: ${JSON.stringify(rule.sourceCidr)} is not an address or CIDR`);
    family = src.family;
    srcNet = src.net;
    srcLen = src.len;
    srcText = formatPrefix(src.family, src.net, src.len);
  }
  const dst = destination(rule.destination);
  if (dst === undefined)
    throw invalid(field, `destination: ${JSON.stringify(rule.destination)} is not a single address`);
  if (dst.family !== family) {
    throw invalid(
      field,
      `destination: ${rule.destination} is IPv${dst.family} but sourceCidr ${rule.sourceCidr} is IPv${family}; use one family`,
    );
  }
  return {
    family,
    srcNet,
    srcLen,
    protocol,
    portFrom: rule.portFrom,
    portTo: rule.portTo,
    dst: dst.value,
    text: srcText + keySuffix(dst, protocol, rule.portFrom, rule.portTo),
    bucket: dst.buckets[protocol],
  };
}

/**
 * Whether two keys are the same element (their texts are equal). By their fields, which is cheaper than
 * comparing two freshly built texts: the text is canonical, a function of exactly these fields.
 */
export function sameKey(a: ElementKey, b: ElementKey): boolean {
  return (
    a === b ||
    (a.srcLen === b.srcLen &&
      a.portFrom === b.portFrom &&
      a.portTo === b.portTo &&
      a.protocol === b.protocol &&
      a.family === b.family &&
      a.srcNet === b.srcNet &&
      a.dst === b.dst)
  );
}

/** Keys that can only overlap when these are equal: same family, protocol and destination. */
export function bucketOf(key: ElementKey): string {
  return key.bucket;
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
  const addr = canonicalAddress;
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
  if ((parseIPv4(dstText) >= 0 ? 4 : parseAddress(dstText)?.family) !== family) return undefined;
  return `${srcText} . ${protoText} . ${portText} . ${dstText}`;
}

/** Canonical text of a listed address, or undefined; IPv4 as nft prints it is canonical already. */
function canonicalAddress(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (parseIPv4(v) >= 0) return v;
  const a = parseAddress(v);
  return a === undefined ? undefined : formatAddress(a.family, a.value);
}

/** Narrows to a plain object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
