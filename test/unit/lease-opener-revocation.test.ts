/**
 * What a revoked certificate asked for is withdrawn: LeaseEngine.endOpenedByRefused ends, across
 * pages, exactly the live leases whose opening certificate is refused (a renewal racing the pass
 * is retried on the renewed lease), the approval desk denies such waiting requests and refuses to
 * approve one, and openerRefusal says why for a revoked certificate and for a removed CA.
 */
import { describe, expect, it, vi } from 'vitest';
import { LeaseEngine } from '../../server/lease/lease-engine.js';
import { RevocationSweep } from '../../server/revocation-sweep.js';
import { PinholeError } from '../../server/core/errors.js';
import { ApprovalDesk } from '../../server/lease/approval-desk.js';
import { HostDirectoryCache } from '../../server/lease/host-directory.js';
import { MemoryStore } from '../../server/store/memory/memory-store.js';
import { createRootLogger } from '../../server/log.js';
import { openerRefusal } from '../../server/identity/certificate-guard.js';
import { revocationKey } from '../../server/identity/peer.js';
import type { RevocationSource } from '../../server/identity/tls-runtime.js';
import type { PolicyEvaluator } from '../../server/policy/api.js';
import type { Caller } from '../../server/lease/caller.js';
import type { CertificateRef, Decision } from '../../server/core/types.js';
import type { CommitResult, Mutation, PendingRecord } from '../../server/store/store.js';
import { leaseFixture } from '../helpers/leases.js';

const ISSUER = 'CN=Pinhole dev CA\nO=Pinhole';
const STOLEN: CertificateRef = { serial: '0BAD', issuer: ISSUER };
const ROTATED: CertificateRef = { serial: '0600D', issuer: ISSUER };
const OTHER_CA: CertificateRef = { serial: '0A', issuer: 'CN=Old CA' };

const refusesStolen = (c: CertificateRef): string | undefined =>
  c.serial === STOLEN.serial ? `serial ${c.serial} revoked` : undefined;

describe('openerRefusal', () => {
  const source = (revoked: string[], removed: string[]): RevocationSource => ({
    isRevoked: (key) => revoked.includes(key),
    isIssuerRemoved: (issuer) => removed.includes(issuer),
    onChange: () => () => undefined,
  });

  it('names a revoked certificate and a removed CA, and passes a good one', () => {
    const revocations = source([revocationKey(ISSUER, '0BAD')], ['CN=Old CA']);
    expect(openerRefusal(STOLEN, revocations)).toBe(
      'the certificate that asked for it (serial 0BAD) has been revoked',
    );
    expect(openerRefusal(OTHER_CA, revocations)).toBe(
      'the certificate that asked for it (serial 0A) was issued by CA "CN=Old CA", which the server no longer trusts',
    );
    expect(openerRefusal(ROTATED, revocations)).toBeUndefined();
  });
});

describe('LeaseEngine.endOpenedByRefused', () => {
  it('ends exactly the leases of the refused certificate, across pages, retrying one a renewal raced', async () => {
    const store = MemoryStore.open();
    try {
      const openers = [STOLEN, ROTATED, undefined] as const;
      const leases = Array.from({ length: 2500 }, (_, i) => {
        const openedBy = openers[i % 3];
        return leaseFixture({
          id: `lse_${String(i).padStart(5, '0')}`,
          ...(openedBy === undefined ? {} : { openedBy }),
        });
      });
      for (let i = 0; i < leases.length; i += 500)
        await store.commit({
          leases: leases.slice(i, i + 500).map((lease) => ({ kind: 'put', lease })),
          audit: [],
        });
      // lse_01200 (the stolen certificate's) is renewed after the pass read it, just before its end
      // is committed: that end carries a stale revision and is refused.
      let raced = 0;
      const racing = new Proxy(store, {
        get(target, key): unknown {
          if (key === 'commit') {
            return async (m: Mutation): Promise<CommitResult> => {
              const change = m.leases?.[0];
              if (change?.kind === 'end' && change.lease.id === 'lse_01200' && raced++ === 0) {
                await target.commit({
                  expect: [{ leaseId: change.lease.id, revision: change.lease.revision }],
                  leases: [{ kind: 'put', lease: { ...change.lease, renewedAtMs: Date.now() } }],
                  audit: [],
                });
              }
              return target.commit(m);
            };
          }
          const value: unknown = Reflect.get(target, key, target);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const engine = new LeaseEngine({
        store: racing,
        policy: () => ({}) as PolicyEvaluator,
        directory: await HostDirectoryCache.load(store),
        log: createRootLogger('silent'),
        openerRefusal: refusesStolen,
      });

      const ended = await engine.endOpenedByRefused();
      expect(ended).toBe(Math.ceil(2500 / 3));
      expect(raced).toBe(2); // the refused end, then its retry on the renewed lease
      const live = await store.listLeases({ limit: 10_000 });
      expect(live).toHaveLength(2500 - ended);
      expect(live.every((l) => l.openedBy?.serial !== STOLEN.serial)).toBe(true);
      expect(live.filter((l) => l.openedBy === undefined)).toHaveLength(Math.floor(2500 / 3));
      for (const id of ['lse_00000', 'lse_01200']) {
        expect(await store.getLease(id)).toMatchObject({
          state: 'ended',
          endReason: 'revoked',
          endDetail: 'serial 0BAD revoked',
        });
      }
      const records = await store.auditRecords({ limit: 10_000 });
      expect(records.filter((r) => r.action === 'certificate-revoke')).toHaveLength(ended);
    } finally {
      await store.close();
    }
  });
});

describe('ApprovalDesk and a revoked requester', () => {
  const admin: Caller = {
    identity: {
      role: 'admin',
      name: 'alice',
      trustDomain: 'pinhole.test',
      addresses: [],
      fingerprint: 'aa',
      notAfterMs: Date.now() + 86_400_000,
    },
    peer: '127.0.0.1:1',
  };
  const decision: Decision = {
    outcome: 'PENDING',
    ruleId: 'backup-agent',
    reason: 'needs an administrator',
    narrowings: [],
    wouldAllow: '',
    openings: [],
    rules: [
      {
        protocol: 'tcp',
        portFrom: 9102,
        portTo: 9102,
        sourceCidr: '198.18.2.0/24',
        destination: '198.18.1.10',
      },
    ],
    ttlSeconds: 300,
    maxLifetimeSeconds: 3600,
  };
  const pendingOf = (id: string, openedBy: CertificateRef): PendingRecord => ({
    id,
    host: 'db-1',
    addresses: ['198.18.1.10'],
    request: { requestId: id, openings: [], requestedTtlSeconds: 300, description: '', allOrNothing: false },
    decision,
    createdAtMs: Date.now(),
    expiresAtMs: Date.now() + 3_600_000,
    state: 'waiting',
    openedBy,
  });

  it("refuses to approve a revoked certificate's request, and denies such requests when asked", async () => {
    const store = MemoryStore.open();
    try {
      const desk = new ApprovalDesk({ store, openerRefusal: refusesStolen });
      await store.commit({ pending: pendingOf('pnd_stolen', STOLEN), audit: [] });
      await store.commit({ pending: pendingOf('pnd_good', ROTATED), audit: [] });

      await expect(desk.approve(admin, 'pnd_stolen', {})).rejects.toMatchObject({
        code: 'FAILED_PRECONDITION',
        message:
          'pending_id: pnd_stolen cannot be approved: serial 0BAD revoked; the host must ask again with a valid certificate',
      });
      expect(await desk.denyOpenedByRefused()).toBe(1);
      expect(await store.getPending('pnd_stolen')).toMatchObject({
        state: 'denied',
        answer: { decision: { outcome: 'DENIED', reason: 'denied by the server: serial 0BAD revoked' } },
      });
      expect((await store.getPending('pnd_good'))?.state).toBe('waiting');
      const approved = await desk.approve(admin, 'pnd_good', {});
      expect(approved.lease?.openedBy).toEqual(ROTATED);
    } finally {
      await store.close();
    }
  });
});

/** A store that runs `hook` once, just before forwarding the first commit `when` selects. */
function hookedStore(store: MemoryStore, when: (m: Mutation) => boolean, hook: () => void): MemoryStore {
  let fired = false;
  return new Proxy(store, {
    get(target, key): unknown {
      if (key === 'commit') {
        return (m: Mutation): Promise<CommitResult> => {
          if (!fired && when(m)) {
            fired = true;
            hook();
          }
          return target.commit(m);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('a certificate revoked while its request is on its way to the store', () => {
  const host: Caller = {
    identity: {
      role: 'host',
      name: 'db-1',
      trustDomain: 'pinhole.test',
      addresses: ['198.18.1.10'],
      fingerprint: 'bb',
      notAfterMs: Date.now() + 86_400_000,
    },
    peer: '127.0.0.1:2',
    certificate: STOLEN,
  };
  const granted: Decision = {
    outcome: 'GRANTED',
    ruleId: 'db-backup',
    reason: 'allowed',
    narrowings: [],
    wouldAllow: '',
    openings: [],
    rules: [
      {
        protocol: 'tcp',
        portFrom: 5432,
        portTo: 5432,
        sourceCidr: '198.18.2.0/24',
        destination: '198.18.1.10',
      },
    ],
    ttlSeconds: 300,
    maxLifetimeSeconds: 3600,
  };

  it('Open: the lease committed after the revocation pass read the store is withdrawn, the call refused', async () => {
    const store = MemoryStore.open();
    try {
      let revoked = false;
      const engine = new LeaseEngine({
        // The CRL reload lands while the grant's commit is in flight: the pass has read the store already.
        store: hookedStore(
          store,
          (m) => m.leases?.[0]?.kind === 'put',
          () => (revoked = true),
        ),
        policy: () => ({ decide: () => granted }) as unknown as PolicyEvaluator,
        directory: await HostDirectoryCache.load(store),
        log: createRootLogger('silent'),
        openerRefusal: (c) => (revoked ? refusesStolen(c) : undefined),
      });
      const request = {
        requestId: 'r-1',
        openings: [],
        requestedTtlSeconds: 300,
        description: '',
        allOrNothing: false,
      };
      await expect(engine.open(host, request)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      const [lease] = await store.listLeases({ includeEnded: true });
      expect(lease).toMatchObject({ state: 'ended', endReason: 'revoked', endDetail: 'serial 0BAD revoked' });
      expect(lease?.openedBy).toEqual(STOLEN);
    } finally {
      await store.close();
    }
  });

  it('approve: the lease is withdrawn and the request denied', async () => {
    const store = MemoryStore.open();
    try {
      let revoked = false;
      const desk = new ApprovalDesk({
        store: hookedStore(
          store,
          (m) => m.pending?.state === 'approved',
          () => (revoked = true),
        ),
        openerRefusal: (c) => (revoked ? refusesStolen(c) : undefined),
      });
      await store.commit({
        pending: {
          id: 'pnd_race',
          host: 'db-1',
          addresses: ['198.18.1.10'],
          request: {
            requestId: 'pnd_race',
            openings: [],
            requestedTtlSeconds: 300,
            description: '',
            allOrNothing: false,
          },
          decision: { ...granted, outcome: 'PENDING' },
          createdAtMs: Date.now(),
          expiresAtMs: Date.now() + 3_600_000,
          state: 'waiting',
          openedBy: STOLEN,
        },
        audit: [],
      });
      const admin: Caller = { ...host, identity: { ...host.identity, role: 'admin', name: 'alice' } };
      await expect(desk.approve(admin, 'pnd_race', {})).rejects.toMatchObject({
        code: 'FAILED_PRECONDITION',
      });
      const [lease] = await store.listLeases({ includeEnded: true });
      expect(lease).toMatchObject({ state: 'ended', endReason: 'revoked' });
      expect(await store.getPending('pnd_race')).toMatchObject({
        state: 'denied',
        answer: { decision: { reason: 'denied by the server: serial 0BAD revoked' } },
      });
    } finally {
      await store.close();
    }
  });
});

describe('RevocationSweep', () => {
  it('runs a pass after each reload, and tries a failed pass again', async () => {
    vi.useFakeTimers();
    try {
      const listeners = new Set<() => void>();
      const revocations: RevocationSource = {
        isRevoked: () => false,
        isIssuerRemoved: () => false,
        onChange: (l) => {
          listeners.add(l);
          return () => listeners.delete(l);
        },
      };
      let calls = 0;
      const sweep = new RevocationSweep({
        revocations,
        engine: {
          endOpenedByRefused: () => {
            calls++;
            return calls === 1
              ? Promise.reject(new PinholeError('UNAVAILABLE', 'the store is busy'))
              : Promise.resolve(0);
          },
        },
        desk: { denyOpenedByRefused: () => Promise.resolve(0) },
        log: createRootLogger('silent'),
      });
      for (const l of listeners) l();
      await vi.advanceTimersByTimeAsync(0);
      expect(calls).toBe(1);
      await vi.advanceTimersByTimeAsync(5_000);
      expect(calls).toBe(2);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(calls).toBe(2); // it succeeded: no more passes until the next reload
      await sweep.close();
      for (const l of listeners) l();
      expect(listeners.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
