import { createHash, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { PinholeError } from '../../server/core/errors.js';
import { identityFromCertificate, identityFromPem } from '../../server/identity/peer.js';
import { createCa, issueCertificate, type IssueOptions, type PemPair } from '../../server/identity/pki.js';

const TD = 'pinhole.test';
let ca: PemPair;

beforeAll(() => {
  ca = createCa({ trustDomain: TD, days: 30 });
});

function der(overrides: Partial<IssueOptions> = {}): Buffer {
  const pair = issueCertificate({ ca, trustDomain: TD, role: 'host', name: 'web-1', ...overrides });
  return new X509Certificate(pair.certPem).raw;
}

/** The PinholeError thrown by identityFromCertificate, so tests can check code and message. */
function refusal(cert: Buffer, trustDomain = TD): PinholeError {
  try {
    identityFromCertificate(cert, trustDomain);
  } catch (err) {
    if (err instanceof PinholeError) return err;
    throw err;
  }
  throw new Error('certificate was accepted');
}

describe('identityFromCertificate', () => {
  it('reads role, name, normalized IPv4 and IPv6 addresses, fingerprint and expiry of a host', () => {
    const notAfter = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000);
    const cert = der({ ips: ['198.18.0.2', '2001:DB8:0:0:0:0:0:1', '::ffff:198.18.0.3'], notAfter });
    const id = identityFromCertificate(cert, TD);
    expect(id).toEqual({
      role: 'host',
      name: 'web-1',
      trustDomain: TD,
      addresses: ['198.18.0.2', '2001:db8::1', '198.18.0.3'],
      fingerprint: createHash('sha256').update(cert).digest('hex'),
      notAfterMs: notAfter.getTime(),
    });
  });

  it('reads the same identity from PEM', () => {
    const pair = issueCertificate({ ca, trustDomain: TD, role: 'admin', name: 'alice' });
    const id = identityFromPem(pair.certPem, TD);
    expect([id.role, id.name, id.addresses]).toEqual(['admin', 'alice', []]);
  });

  it('rejects a certificate with two URI SANs', () => {
    const err = refusal(der({ extraUris: [`spiffe://${TD}/admin/alice`] }));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toMatch(/has 2 URI SANs; expected exactly one/);
  });

  it('rejects a certificate from a foreign trust domain, even when signed by our CA', () => {
    const err = refusal(der({ trustDomain: 'other.test' }));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toContain('foreign trust domain "other.test"');
  });

  it('rejects a leaf that claims to be a CA', () => {
    const err = refusal(der({ isCa: true }));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toMatch(/is a CA certificate/);
  });

  it('rejects an unknown role', () => {
    const err = refusal(der({ omitSpiffeUri: true, extraUris: [`spiffe://${TD}/robot/r2`] }));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toContain('role "robot" is unknown');
  });

  it('rejects a certificate with no URI SAN', () => {
    const err = refusal(der({ omitSpiffeUri: true, dnsNames: ['web-1.example'] }));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toMatch(/has 0 URI SANs/);
  });

  it('rejects a certificate with no SAN extension at all', () => {
    expect(refusal(der({ omitSpiffeUri: true })).message).toMatch(/has 0 URI SANs/);
  });

  it('rejects a URI SAN that is not a SPIFFE ID of the form spiffe://td/role/name', () => {
    expect(refusal(der({ omitSpiffeUri: true, extraUris: [`https://${TD}/host/web-1`] })).message).toMatch(
      /is not of the form/,
    );
    expect(refusal(der({ omitSpiffeUri: true, extraUris: [`spiffe://${TD}/host/a/b`] })).code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('does not let a comma inside one URI SAN pose as a second SAN entry', () => {
    // Node quotes such values in subjectAltName; a naive split on ", " would see admin/alice here.
    const smuggled = `spiffe://${TD}/host/x, URI:spiffe://${TD}/admin/alice`;
    const err = refusal(der({ omitSpiffeUri: true, extraUris: [smuggled] }));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toMatch(/^peer certificate URI SAN .* is not of the form/);
    const comma = refusal(der({ omitSpiffeUri: true, extraUris: [`spiffe://${TD}/host/a,b`] }));
    expect(comma.message).toContain('name "a,b" is not valid');
  });

  it('rejects bytes that are not a certificate', () => {
    const err = refusal(Buffer.from('not a certificate'));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toMatch(/could not be parsed/);
  });
});
