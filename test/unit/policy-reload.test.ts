/** Hot reload: validate first, swap atomically, keep the old policy on errors; re-check live leases. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Lease, OpenRequest } from '../../server/core/types.js';
import type { HostDirectory } from '../../server/policy/api.js';
import { PolicyStore } from '../../server/policy/policy-store.js';

const dir = mkdtempSync(join(tmpdir(), 'pinhole-policy-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.parse('2026-03-01T12:00:00Z');
const web1 = { name: 'web-1', addresses: ['198.18.0.2'] };
const directory: HostDirectory = { addressesOf: () => undefined, hostNames: () => [] };

const BASE = `
defaults: { ttl: 5m, min_ttl: 30s, max_ttl: 1h, max_lifetime: 24h }
groups:
  web: { hosts: ["web-*"] }
  replicas: { cidrs: [198.18.1.0/24] }
rules:
  - id: web-db
    requesters: [web]
    open: [tcp/5432]
    from: [replicas]
    max_ttl: 30m
  - id: backup
    requesters: [web]
    open: [tcp/9102]
    from: [198.18.9.0/24]
    approval: manual
`;

let files = 0;
function policyFile(text: string): string {
  const path = join(dir, `policy-${++files}.yaml`);
  writeFileSync(path, text);
  return path;
}

async function storeWith(text: string): Promise<PolicyStore> {
  const opened = await PolicyStore.open(policyFile(text));
  if (!opened.ok) throw new Error(opened.errors.map((e) => e.message).join('\n'));
  return opened.store;
}

const pg: OpenRequest = {
  requestId: 'r',
  openings: [
    {
      ports: { protocol: 'tcp', from: 5432, to: 5432 },
      sources: [{ kind: 'cidr', cidr: '198.18.1.0/24' }],
      destinations: [],
    },
  ],
  requestedTtlSeconds: 1800,
  description: '',
  allOrNothing: false,
};

function leaseOf(ruleId: string, rules: Lease['rules'], ttlSeconds = 1800): Lease {
  return {
    id: 'lse_1',
    host: 'web-1',
    requestId: 'r',
    rules,
    ttlSeconds,
    grantedAtMs: T0,
    expiresAtMs: T0 + ttlSeconds * 1000,
    maxLifetimeEndsAtMs: T0 + 86_400_000,
    renewedAtMs: T0,
    revision: 1,
    state: 'granted',
    ruleId,
    description: '',
    receipt: '',
  };
}
const pgRule = {
  protocol: 'tcp' as const,
  portFrom: 5432,
  portTo: 5432,
  sourceCidr: '198.18.1.0/24',
  destination: '198.18.0.2',
};
const backupRule = {
  protocol: 'tcp' as const,
  portFrom: 9102,
  portTo: 9102,
  sourceCidr: '198.18.9.0/24',
  destination: '198.18.0.2',
};

describe('PolicyStore.reload', () => {
  it('keeps the old policy when the new file is invalid, and returns every error', async () => {
    const store = await storeWith(BASE);
    const before = store.current;
    const bad = policyFile(
      BASE.replace('from: [replicas]', 'from: [replicaz]').replace('tcp/9102', 'tcp/99999'),
    );
    const r = await store.reload(bad);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(['rules[0].from[0]', 'rules[1].open[0]']);
    expect(store.current).toBe(before);
    expect(store.revision).toBe(1);
    expect(store.decide(web1, pg, directory, T0)).toMatchObject({ outcome: 'GRANTED', ruleId: 'web-db' });
  });

  it('swaps in a valid file atomically and bumps the revision', async () => {
    const store = await storeWith(BASE);
    const r = await store.reload(policyFile(BASE.replace('tcp/5432', 'tcp/5433')));
    expect(r).toMatchObject({ ok: true, revision: 2 });
    expect(store.revision).toBe(2);
    expect(store.decide(web1, pg, directory, T0)).toMatchObject({
      outcome: 'DENIED',
      ruleId: 'default-deny',
    });
  });

  it('serializes concurrent reloads: the last one asked for wins', async () => {
    const store = await storeWith(BASE);
    const a = policyFile(BASE.replace('max_ttl: 30m', 'max_ttl: 10m'));
    const b = policyFile(BASE.replace('max_ttl: 30m', 'max_ttl: 20m'));
    const [ra, rb] = await Promise.all([store.reload(a), store.reload(b)]);
    expect([ra.revision, rb.revision]).toEqual([2, 3]);
    expect(store.decide(web1, pg, directory, T0).ttlSeconds).toBe(1200);
  });

  it('reloads the path it was opened with when none is given', async () => {
    const path = policyFile(BASE);
    const opened = await PolicyStore.open(path);
    if (!opened.ok) throw new Error('open failed');
    writeFileSync(path, BASE.replace('max_ttl: 30m', 'max_ttl: 15m'));
    expect(await opened.store.reload()).toMatchObject({ ok: true, revision: 2 });
    expect(opened.store.decide(web1, pg, directory, T0).ttlSeconds).toBe(900);
  });
});

describe('recheck after a reload', () => {
  it('keeps a lease the new policy still allows, without cutting it', async () => {
    const store = await storeWith(BASE);
    const granted = store.decide(web1, pg, directory, T0);
    const lease = leaseOf(granted.ruleId, granted.rules, granted.ttlSeconds);
    expect(store.recheck(lease, web1, directory, T0 + 60_000)).toEqual({ keep: true });
  });

  it('says keep:false naming the rule when the granting rule was removed', async () => {
    const store = await storeWith(BASE);
    const lease = leaseOf('web-db', [pgRule]);
    await store.reload(
      policyFile(BASE.replace('id: web-db', 'id: web-db-v2').replace('tcp/5432', 'tcp/6432')),
    );
    expect(store.recheck(lease, web1, directory, T0 + 60_000)).toEqual({
      keep: false,
      ruleId: 'web-db',
      reason:
        'rule web-db was removed from policy; no other rule allows tcp/5432 from 198.18.1.0/24 to 198.18.0.2',
    });
  });

  it('keeps a lease whose rule was removed when another rule now allows it', async () => {
    const store = await storeWith(BASE);
    await store.reload(policyFile(BASE.replace('id: web-db', 'id: web-postgres')));
    expect(store.recheck(leaseOf('web-db', [pgRule]), web1, directory, T0 + 60_000)).toEqual({ keep: true });
  });

  it('names a changed rule, and a new deny rule, when they no longer allow the lease', async () => {
    const store = await storeWith(BASE);
    await store.reload(policyFile(BASE.replace('cidrs: [198.18.1.0/24]', 'cidrs: [198.18.1.0/25]')));
    expect(store.recheck(leaseOf('web-db', [pgRule]), web1, directory, T0)).toEqual({
      keep: false,
      ruleId: 'web-db',
      reason: 'rule web-db no longer allows tcp/5432 from 198.18.1.0/24 to 198.18.0.2 for web-1',
    });
    const deny = `${BASE}  - id: freeze-db\n    effect: deny\n    requesters: [any]\n    open: [tcp/5432]\n`;
    await store.reload(policyFile(deny));
    expect(store.recheck(leaseOf('web-db', [pgRule]), web1, directory, T0)).toEqual({
      keep: false,
      ruleId: 'freeze-db',
      reason: 'rule freeze-db now denies tcp/5432 from 198.18.1.0/24 to 198.18.0.2',
    });
  });

  it('gives maxExpiresAtMs when max_ttl was lowered, counted from now', async () => {
    const store = await storeWith(BASE);
    const lease = leaseOf('web-db', [pgRule], 1800);
    await store.reload(policyFile(BASE.replace('max_ttl: 30m', 'max_ttl: 5m')));
    const now = T0 + 60_000;
    expect(store.recheck(lease, web1, directory, now)).toEqual({ keep: true, maxExpiresAtMs: now + 300_000 });
    // A renewal is clamped to the new bound too.
    expect(store.renewTtlSeconds('web-db', 1800, lease)).toBe(300);
  });

  it('gives maxExpiresAtMs when max_lifetime was lowered below the lease expiry', async () => {
    const store = await storeWith(BASE);
    const lease = { ...leaseOf('web-db', [pgRule], 1800), grantedAtMs: T0 - 3_500_000 };
    await store.reload(policyFile(BASE.replace('max_lifetime: 24h', 'max_lifetime: 1h')));
    expect(store.recheck(lease, web1, directory, T0)).toEqual({
      keep: true,
      maxExpiresAtMs: T0 - 3_500_000 + 3_600_000,
    });
  });

  it('keeps an approved lease of a manual rule (approval was given at grant time)', async () => {
    const store = await storeWith(BASE);
    expect(store.recheck(leaseOf('backup', [backupRule], 300), web1, directory, T0)).toEqual({ keep: true });
  });

  it('ends a lease when the rule that granted it expires', async () => {
    const store = await storeWith(
      BASE.replace('    max_ttl: 30m\n', '    max_ttl: 30m\n    expires: 2026-03-01T12:30:00Z\n'),
    );
    const lease = leaseOf('web-db', [pgRule]);
    expect(store.recheck(lease, web1, directory, T0)).toEqual({ keep: true });
    expect(store.recheck(lease, web1, directory, T0 + 3_600_000)).toEqual({
      keep: false,
      ruleId: 'web-db',
      reason:
        'rule web-db expired at 2026-03-01T12:30:00.000Z; no other rule allows tcp/5432 from 198.18.1.0/24 to 198.18.0.2',
    });
  });
});
