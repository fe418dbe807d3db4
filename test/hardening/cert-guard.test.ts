/**
 * The per-stream certificate guard (server/identity/certificate-guard.ts) on a simulated clock: a
 * certificate valid for longer than setTimeout's 2^31-1 ms still ends its stream exactly at
 * notAfter, and a revocation ends it at once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { guardCertificate } from '../../server/identity/certificate-guard.js';
import type { PeerCertificate } from '../../server/identity/peer.js';
import type { RevocationSource } from '../../server/identity/tls-runtime.js';

const DAY = 86_400_000;

function peer(notAfterMs: number): PeerCertificate {
  return {
    identity: {
      role: 'firewall',
      name: 'gw-1',
      trustDomain: 'pinhole.test',
      addresses: [],
      fingerprint: 'ab',
      notAfterMs,
    },
    revocationKey: 'CN=CA|0A',
    serial: '0A',
    issuer: 'CN=CA',
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('guardCertificate', () => {
  it('waits past the 2^31-1 ms timer limit and trips at notAfter', () => {
    const notAfter = Date.now() + 40 * DAY;
    const guard = guardCertificate(peer(notAfter), undefined);
    vi.advanceTimersByTime(40 * DAY - 1);
    expect(guard.failure).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(guard.failure?.code).toBe('UNAUTHENTICATED');
    expect(guard.failure?.message).toBe(
      `client certificate expired at ${new Date(notAfter).toISOString()}; renew it and reconnect`,
    );
    expect(guard.signal.aborted).toBe(true);
  });

  /** A revocation source under the test's control: the revoked set, the removed CAs, the listeners. */
  function source(): {
    source: RevocationSource;
    listeners: Set<() => void>;
    revoked: Set<string>;
    removed: Set<string>;
  } {
    const listeners = new Set<() => void>();
    const revoked = new Set<string>();
    const removed = new Set<string>();
    return {
      listeners,
      revoked,
      removed,
      source: {
        isRevoked: (key) => revoked.has(key),
        isIssuerRemoved: (issuer) => removed.has(issuer),
        onChange: (l) => {
          listeners.add(l);
          return () => listeners.delete(l);
        },
      },
    };
  }

  it('trips at once when the certificate was revoked before the guard subscribed, and arms no timer', () => {
    const { source: revocations, listeners, revoked } = source();
    revoked.add('CN=CA|0A');
    const guard = guardCertificate(peer(Date.now() + DAY), revocations);
    expect(guard.failure?.message).toMatch(/firewall\/gw-1 \(serial 0A\) has been revoked/);
    expect(guard.signal.aborted).toBe(true);
    expect(listeners.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('trips when a reload removes the CA that issued the certificate', () => {
    const { source: revocations, listeners, removed } = source();
    const guard = guardCertificate(peer(Date.now() + DAY), revocations);
    for (const l of listeners) l();
    expect(guard.failure).toBeUndefined();
    removed.add('CN=CA');
    for (const l of listeners) l();
    expect(guard.failure?.code).toBe('UNAUTHENTICATED');
    expect(guard.failure?.message).toMatch(
      /firewall\/gw-1 \(serial 0A\) was issued by CA "CN=CA", which the server no longer trusts/,
    );
    expect(vi.getTimerCount()).toBe(0);
  });

  it('trips on a revocation and stops listening once disposed', () => {
    const { source: revocations, listeners, revoked } = source();
    const guard = guardCertificate(peer(Date.now() + DAY), revocations);
    for (const l of listeners) l();
    expect(guard.failure).toBeUndefined();
    revoked.add('CN=CA|0A');
    for (const l of listeners) l();
    expect(guard.failure?.message).toMatch(/firewall\/gw-1 \(serial 0A\) has been revoked/);
    expect(listeners.size).toBe(0);

    const other = guardCertificate(peer(Date.now() + DAY), revocations);
    other.dispose();
    expect(listeners.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
