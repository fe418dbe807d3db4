/**
 * Turns a verified mTLS peer certificate into an `Identity`. TLS has already checked the chain and the
 * validity period; this file decides *who* the peer is, from exactly one SPIFFE URI SAN, and refuses
 * anything ambiguous. It uses Node's X509Certificate (not node-forge) so the server's hot path does
 * not load forge and any key type the TLS stack accepts can be read.
 */
import { X509Certificate } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { PinholeError } from '../core/errors.js';
import type { Identity, Role } from '../core/types.js';

export const ROLES: readonly Role[] = ['host', 'firewall', 'admin', 'server'];

/** Names become a URI path segment and part of a file name, so no `/`, no spaces, no `..`. */
const NAME_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** DNS-like, lowercase, as SPIFFE requires of trust domains. */
const TRUST_DOMAIN_PATTERN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Why `name` is not a valid identity name, or undefined if it is. */
export function nameProblem(name: string): string | undefined {
  if (!NAME_PATTERN.test(name))
    return `${JSON.stringify(name)} is not a valid name; use 1-128 characters of A-Z a-z 0-9 . _ -`;
  // "." and ".." are path segments with meaning in a URI; SPIFFE forbids them.
  if (name === '.' || name === '..')
    return `${JSON.stringify(name)} is not a valid name; "." and ".." are reserved`;
  return undefined;
}

/** Why `trustDomain` is not valid, or undefined if it is. */
export function trustDomainProblem(trustDomain: string): string | undefined {
  if (TRUST_DOMAIN_PATTERN.test(trustDomain)) return undefined;
  return `${JSON.stringify(trustDomain)} is not a valid trust domain; use a lowercase DNS-like name such as pinhole.test`;
}

export function spiffeId(trustDomain: string, role: Role, name: string): string {
  return `spiffe://${trustDomain}/${role}/${name}`;
}

/**
 * An IP address in the one form the rest of Pinhole compares: dotted quad for IPv4 (also for
 * IPv4-mapped IPv6, so `::ffff:10.0.0.1` and `10.0.0.1` are the same host), RFC 5952 for IPv6.
 * Returns undefined for anything that is not a plain address (zone ids, short IPv4 forms).
 */
export function normalizeAddress(text: string): string | undefined {
  if (text.includes('%')) return undefined;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  if (text.includes(':')) {
    if (!ipaddr.IPv6.isValid(text)) return undefined;
    const v6 = ipaddr.IPv6.parse(text);
    addr = v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  } else {
    // ipaddr.isValid accepts "127.1" and hex/octal parts; certificates and policy must not.
    if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
    addr = ipaddr.IPv4.parse(text);
  }
  return addr.toString();
}

interface AltName {
  readonly type: string;
  readonly value: string;
}

/**
 * Splits Node's `subjectAltName` text ("URI:a, IP Address:b, DNS:c"). Since the CVE-2021-44532 fix
 * Node JSON-quotes any value containing `,` `"` `\` `'` or control characters, so a value cannot
 * smuggle in a second entry; quoted values are decoded here.
 */
function parseAltNames(text: string): AltName[] {
  const out: AltName[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) throw unauthenticated('peer certificate has an unreadable subjectAltName');
    const type = text.slice(i, colon);
    let end: number;
    let value: string;
    if (text[colon + 1] === '"') {
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      end = j + 1;
      try {
        value = JSON.parse(text.slice(colon + 1, end)) as string;
      } catch (err) {
        throw unauthenticated('peer certificate has an unreadable subjectAltName', err);
      }
    } else {
      end = text.indexOf(', ', colon + 1);
      if (end < 0) end = text.length;
      value = text.slice(colon + 1, end);
    }
    out.push({ type, value });
    i = end < text.length ? end + 2 : end;
  }
  return out;
}

/** Certificate text is attacker-chosen: quote and cap it before it reaches a message or a log. */
function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value);
}

function unauthenticated(message: string, cause?: unknown): PinholeError {
  return new PinholeError('UNAUTHENTICATED', message, cause === undefined ? {} : { cause });
}

/**
 * The identity of a peer from its DER certificate. Throws UNAUTHENTICATED when the certificate
 * does not name exactly one valid SPIFFE ID in `expectedTrustDomain`, or is a CA certificate.
 */
export function identityFromCertificate(der: Buffer, expectedTrustDomain: string): Identity {
  return readPeerCertificate(der, expectedTrustDomain).identity;
}

/** A peer's identity and what revocation is checked by, read from one parse of its certificate. */
export interface PeerCertificate {
  readonly identity: Identity;
  /** Issuer and serial number (see `revocationKey`): what a CRL entry names. */
  readonly revocationKey: string;
  /** The serial number, uppercase hex, for messages and logs. */
  readonly serial: string;
  /** The issuer's name in Node's X509Certificate form (a CA's `.subject`). */
  readonly issuer: string;
}

/** As identityFromCertificate, plus the certificate's revocation key. */
export function readPeerCertificate(der: Buffer, expectedTrustDomain: string): PeerCertificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    throw unauthenticated('peer certificate could not be parsed', err);
  }
  const identity = identityFromX509(cert, expectedTrustDomain);
  const serial = normalizeSerial(cert.serialNumber);
  return { identity, revocationKey: revocationKey(cert.issuer, serial), serial, issuer: cert.issuer };
}

/** Serial numbers as one form: uppercase hex without leading zeros (DER may pad a 00 byte). */
export function normalizeSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '');
}

/**
 * A certificate is revoked by its issuer and serial number together (RFC 5280 §5.3.3): serials
 * are unique only per CA, and a bundle may hold several CAs during a rotation. `issuer` is in
 * Node's X509Certificate form (a leaf's `.issuer`, its CA's `.subject`), so both sides compare.
 */
export function revocationKey(issuer: string, serialHex: string): string {
  return `${issuer}|${normalizeSerial(serialHex)}`;
}

/** As identityFromCertificate, from PEM text (for `pinhole certs list` and other tools). */
export function identityFromPem(pem: string, expectedTrustDomain: string): Identity {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw unauthenticated('certificate could not be parsed as PEM', err);
  }
  return identityFromX509(cert, expectedTrustDomain);
}

function identityFromX509(cert: X509Certificate, expectedTrustDomain: string): Identity {
  // A CA certificate presented as a leaf could mint identities; never accept one as a peer.
  if (cert.ca) {
    throw unauthenticated(
      'peer certificate is a CA certificate (basicConstraints CA:true); a leaf is required',
    );
  }
  const altNames = parseAltNames(cert.subjectAltName ?? '');
  const uris = altNames.filter((a) => a.type === 'URI').map((a) => a.value);
  const expected = `spiffe://${expectedTrustDomain}/<role>/<name>`;
  // Two URIs would let a certificate be two identities; policy must see exactly one.
  if (uris.length !== 1) {
    throw unauthenticated(`peer certificate has ${uris.length} URI SANs; expected exactly one ${expected}`);
  }
  const uri = uris[0] ?? '';
  const match = /^spiffe:\/\/([^/]*)\/([^/]*)\/([^/]*)$/.exec(uri);
  if (!match) {
    throw unauthenticated(`peer certificate URI SAN ${quote(uri)} is not of the form ${expected}`);
  }
  const [, trustDomain = '', role = '', name = ''] = match;
  if (trustDomain !== expectedTrustDomain) {
    throw unauthenticated(
      `peer certificate is from foreign trust domain ${quote(trustDomain)}; this server trusts "${expectedTrustDomain}"`,
    );
  }
  if (!isRole(role)) {
    throw unauthenticated(`peer certificate role ${quote(role)} is unknown; accepted: ${ROLES.join(', ')}`);
  }
  if (nameProblem(name) !== undefined) {
    throw unauthenticated(
      `peer certificate name ${quote(name)} is not valid; expected 1-128 of A-Z a-z 0-9 . _ -`,
    );
  }

  const addresses: string[] = [];
  for (const alt of altNames) {
    if (alt.type !== 'IP Address') continue;
    const address = normalizeAddress(alt.value);
    if (address === undefined) {
      throw unauthenticated(`peer certificate IP SAN ${quote(alt.value)} is not a valid IP address`);
    }
    if (!addresses.includes(address)) addresses.push(address);
  }

  // Node 20 has no validToDate; validTo is "Mon DD HH:MM:SS YYYY GMT", which Date.parse reads.
  const notAfterMs = Date.parse(cert.validTo);
  if (Number.isNaN(notAfterMs))
    throw unauthenticated(`peer certificate has unreadable notAfter ${quote(cert.validTo)}`);

  return {
    role,
    name,
    trustDomain,
    addresses,
    fingerprint: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
    notAfterMs,
  };
}
