/**
 * The nftables enforcer against a real kernel, with real packets, inside throw-away network namespaces:
 *
 *   [client 198.18.1.1, 2001:2::1] --veth-- [host 198.18.1.2, 2001:2::2; 198.18.3.2] --veth-- [outside 198.18.3.1]
 *
 * The host runs a TCP echo server on 5432 and the enforcer (in this process) drives its nft through
 * `ip netns exec`. Gateway mode is in nft-gateway.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NftEnforcer } from '../../client-sdk/enforcer/nft-enforcer.js';
import type { EnforcerLease, EnforcerRule, ReconcileReport } from '../../client-sdk/enforcer/types.js';
import { NetnsLab } from '../helpers/netns.js';

const lab = new NetnsLab();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function lease(
  leaseId: string,
  sourceCidr: string,
  expiresInMs: number,
  over: Partial<EnforcerRule> = {},
): EnforcerLease {
  const destination = sourceCidr.includes(':') ? '2001:2::2' : '198.18.1.2';
  return {
    leaseId,
    expiresAtMs: Date.now() + expiresInMs,
    rules: [{ protocol: 'tcp', portFrom: 5432, portTo: 5432, sourceCidr, destination, ...over }],
  };
}

interface ListedElement {
  comment: string;
  timeout: number;
  expires: number;
  packets: number;
}

let client = '';
let outside = '';
let host = '';
let enforcer: NftEnforcer;
const logs: string[] = [];

/** Elements of every set in the host's table, by comment. */
async function elements(): Promise<Map<string, ListedElement & { set: string }>> {
  const r = await lab.must(host, ['nft', '-j', 'list', 'table', 'inet', 'pinhole']);
  const out = new Map<string, ListedElement & { set: string }>();
  for (const item of (
    JSON.parse(r.stdout) as {
      nftables: {
        set?: { name: string; elem?: { elem: ListedElement & { counter: { packets: number } } }[] };
      }[];
    }
  ).nftables) {
    for (const e of item.set?.elem ?? [])
      out.set(e.elem.comment, { ...e.elem, packets: e.elem.counter.packets, set: item.set?.name ?? '' });
  }
  return out;
}

const connect = (from: string, to = '198.18.1.2', opts: { localAddress?: string } = {}) =>
  lab.canConnect(from, to, 5432, opts);

beforeAll(async () => {
  client = await lab.namespace('cli');
  outside = await lab.namespace('out');
  host = await lab.namespace('host');
  await lab.link(
    { ns: client, addrs: ['198.18.1.1/24', '2001:2::1/64'] },
    { ns: host, addrs: ['198.18.1.2/24', '2001:2::2/64'] },
  );
  await lab.link({ ns: outside, addrs: ['198.18.3.1/24'] }, { ns: host, addrs: ['198.18.3.2/24'] });
  await lab.must(outside, ['ip', 'route', 'add', '198.18.1.0/24', 'via', '198.18.3.2']);
  await lab.listen(host, 5432);
  enforcer = new NftEnforcer({
    mode: 'host',
    nftCommand: ['ip', 'netns', 'exec', host, 'nft'],
    conntrackCommand: ['ip', 'netns', 'exec', host, 'conntrack'],
    graceMs: 0,
    log: (m) => logs.push(m),
  });
  await enforcer.init();
});

afterAll(async () => {
  try {
    await enforcer.close();
  } finally {
    await lab.cleanup();
  }
});

describe('NftEnforcer, host mode, real packets', () => {
  it('drops everything before any lease', async () => {
    expect(await connect(client)).toBe(false);
    expect(await connect(client, '2001:2::2')).toBe(false);
  });

  it('opens exactly the leased source CIDR and counts the traffic on the element', async () => {
    await enforcer.apply({ upserts: [lease('lse_a', '198.18.1.0/24', 60_000)], deletes: [] });
    expect(await connect(client)).toBe(true);
    expect(await connect(outside)).toBe(false);
    const counters = await enforcer.counters();
    expect(counters.find((c) => c.leaseId === 'lse_a')?.packets).toBeGreaterThanOrEqual(1);
    // The outside namespace is routed: a lease for its CIDR lets it in, so the drop above was the firewall.
    await enforcer.apply({ upserts: [lease('lse_out', '198.18.3.0/24', 60_000)], deletes: [] });
    expect(await connect(outside)).toBe(true);
    await enforcer.apply({ upserts: [], deletes: ['lse_out'] });
    expect(await connect(outside)).toBe(false);
  });

  it('delete closes the opening and cuts its established connections', async () => {
    const held = await lab.hold(client, '198.18.1.2', 5432);
    try {
      expect(await held.echo('before')).toBe(true);
      await enforcer.apply({ upserts: [], deletes: ['lse_a'] });
      await enforcer.settled(); // connection cuts run after the kernel change
      expect(await connect(client)).toBe(false);
      expect(await held.echo('after', 1500)).toBe(false);
      const ct = await lab.must(host, [
        'conntrack',
        '-L',
        '-p',
        'tcp',
        '-s',
        '198.18.1.1',
        '--dport',
        '5432',
      ]);
      expect(ct.stdout).not.toContain('ESTABLISHED');
      expect(logs.filter((l) => l.startsWith('conntrack'))).toEqual([]);
    } finally {
      held.close();
    }
  });

  it('a lease ends by kernel timeout with no agent action, and deleting it afterwards still succeeds', async () => {
    await enforcer.apply({ upserts: [lease('lse_short', '198.18.1.0/24', 2000)], deletes: [] });
    expect(await connect(client)).toBe(true);
    await sleep(2600);
    expect(await connect(client)).toBe(false);
    expect((await elements()).has('lse_short')).toBe(false);
    // The element is gone from the kernel; a plain `delete element` would fail the whole transaction.
    await enforcer.apply({ upserts: [lease('lse_other', '198.18.7.0/24', 60_000)], deletes: ['lse_short'] });
    expect((await elements()).has('lse_other')).toBe(true);
    await enforcer.apply({ upserts: [], deletes: ['lse_other'] });
  });

  it('renewal moves the kernel timeout and keeps the counter', async () => {
    await enforcer.apply({ upserts: [lease('lse_r', '198.18.1.0/24', 30_000)], deletes: [] });
    expect(await connect(client)).toBe(true);
    const before = (await elements()).get('lse_r');
    expect(before?.packets).toBeGreaterThanOrEqual(1);
    await sleep(2100);
    // Same lease length again: nft only resets the expiry because we render `expires` explicitly.
    await enforcer.apply({ upserts: [lease('lse_r', '198.18.1.0/24', 30_000)], deletes: [] });
    const same = (await elements()).get('lse_r');
    expect(same?.expires).toBeGreaterThanOrEqual(29);
    await enforcer.apply({ upserts: [lease('lse_r', '198.18.1.0/24', 120_000)], deletes: [] });
    const after = (await elements()).get('lse_r');
    expect(after).toMatchObject({ timeout: 120, packets: before?.packets });
    expect(after?.expires).toBeGreaterThanOrEqual(119);
    await enforcer.apply({ upserts: [], deletes: ['lse_r'] });
  });

  it('opens IPv6 (neighbour discovery is allowed), closes it again and cuts its connections', async () => {
    await enforcer.apply({ upserts: [lease('lse_v6', '2001:2::/64', 60_000)], deletes: [] });
    expect(await connect(client, '2001:2::2')).toBe(true);
    expect((await elements()).get('lse_v6')?.set).toBe('open6');
    const held = await lab.hold(client, '2001:2::2', 5432);
    try {
      expect(await held.echo('v6')).toBe(true);
      await enforcer.apply({ upserts: [], deletes: ['lse_v6'] });
      await enforcer.settled(); // connection cuts run after the kernel change
      expect(await connect(client, '2001:2::2')).toBe(false);
      expect(await held.echo('v6-cut', 1500)).toBe(false);
      expect(logs.filter((l) => l.startsWith('conntrack'))).toEqual([]);
    } finally {
      held.close();
    }
  });

  it('overlapping leases get separate layers; deleting one keeps the other and its connections', async () => {
    await enforcer.apply({
      upserts: [lease('lse_wide', '198.18.1.0/24', 60_000), lease('lse_narrow', '198.18.1.1/32', 60_000)],
      deletes: [],
    });
    const els = await elements();
    expect([els.get('lse_wide')?.set, els.get('lse_narrow')?.set].sort()).toEqual(['open4', 'open4_1']);
    const held = await lab.hold(client, '198.18.1.2', 5432);
    try {
      await enforcer.apply({ upserts: [], deletes: ['lse_wide'] });
      await enforcer.settled(); // connection cuts run after the kernel change
      expect(await held.echo('still-allowed')).toBe(true);
      expect(await connect(client)).toBe(true);
      await enforcer.apply({ upserts: [], deletes: ['lse_narrow'] });
      await enforcer.settled(); // connection cuts run after the kernel change
      expect(await held.echo('now-cut', 1500)).toBe(false);
      expect(await connect(client)).toBe(false);
    } finally {
      held.close();
    }
  });

  it('a transaction the kernel rejects changes nothing and throws; reconcile removes the intruder', async () => {
    // A hand-added element that overlaps what the next batch adds: the kernel refuses the whole batch.
    await lab.must(host, [
      'nft',
      'add',
      'element',
      'inet',
      'pinhole',
      'open4',
      '{ 198.18.1.0/24 . tcp . 6000 . 198.18.1.2 }',
    ]);
    const batch = {
      upserts: [
        lease('lse_ok', '198.18.1.0/24', 60_000),
        lease('lse_clash', '198.18.1.0/25', 60_000, { portFrom: 6000, portTo: 6000 }),
      ],
      deletes: [],
    };
    await expect(enforcer.apply(batch)).rejects.toMatchObject({
      code: 'APPLY_FAILED',
      message: expect.stringContaining('File exists') as unknown,
    });
    expect(await connect(client)).toBe(false);
    expect([...(await elements()).keys()]).toEqual([undefined]);
    const report = await enforcer.reconcile(new Map());
    expect(report).toMatchObject({ tampered: true, missing: 0, extra: 1 });
    expect((await elements()).size).toBe(0);
    await enforcer.apply(batch);
    expect(await connect(client)).toBe(true);
    await enforcer.apply({ upserts: [], deletes: ['lse_ok', 'lse_clash'] });
  });

  it('an nft that fails leaves the enforcer usable and throws a clear error', async () => {
    const fake = new NftEnforcer({
      mode: 'host',
      nftCommand: ['sh', '-c', 'cat >/dev/null; echo "simulated nft failure" >&2; exit 1', 'nft'],
    });
    await expect(fake.init()).rejects.toMatchObject({
      code: 'APPLY_FAILED',
      message: expect.stringContaining('simulated nft failure') as unknown,
    });
    await fake.close();
    await expect(
      enforcer.apply({ upserts: [{ ...lease('bad id', '198.18.1.0/24', 60_000) }], deletes: [] }),
    ).rejects.toMatchObject({ code: 'INVALID_LEASE' });
    expect(await connect(client)).toBe(false);
  });

  it('repairs a hand flush or delete of the table within a second (a set flush at the next full check), reporting tamper', async () => {
    await enforcer.apply({ upserts: [lease('lse_t', '198.18.1.0/24', 60_000)], deletes: [] });
    const reports: ReconcileReport[] = [];
    const durations: string[] = [];
    const watch = enforcer.watchTamper({ onTamper: (r) => reports.push(r) });
    try {
      for (const cmd of [
        ['flush', 'table', 'inet', 'pinhole'],
        ['delete', 'table', 'inet', 'pinhole'],
        ['flush', 'set', 'inet', 'pinhole', 'open4'],
      ]) {
        const seen = reports.length;
        await lab.must(host, ['nft', ...cmd]);
        const started = Date.now();
        // Structure changes are seen by the 250 ms terse probe; element changes by the full check, whose
        // period adapts to its cost (10x its duration: about 0.5-2 s here, more on a loaded machine).
        const limitMs = cmd[0] === 'flush' && cmd[1] === 'set' ? 5000 : 1000;
        while (reports.length === seen && Date.now() - started < limitMs) await sleep(20);
        durations.push(`${cmd.join(' ')}: ${Date.now() - started} ms`);
        expect(reports.length, `repair after nft ${cmd.join(' ')}`).toBe(seen + 1);
        expect(reports.at(-1)?.tampered).toBe(true);
        expect(reports.at(-1)?.events.join('\n')).toMatch(/missing|rules/);
        expect((await elements()).has('lse_t')).toBe(true);
        expect(await connect(client)).toBe(true);
      }
    } finally {
      watch.stop();
      console.log(`tamper repair latency: ${durations.join('; ')}`);
    }
    expect(logs.some((l) => l.startsWith('tamper: '))).toBe(true);
    await enforcer.apply({ upserts: [], deletes: ['lse_t'] });
  });

  it('warns about another table that drops on the same hook', async () => {
    await lab.must(
      host,
      ['nft', '-f', '-'],
      'table ip other {\n  chain c {\n    type filter hook input priority 10; policy drop;\n  }\n}\n',
    );
    try {
      const warnings = await enforcer.detectConflicts();
      expect(warnings.join('\n')).toContain('ip other chain c (hook input) has policy drop');
    } finally {
      await lab.must(host, ['nft', 'delete', 'table', 'ip', 'other']);
    }
  });
});

describe('NftEnforcer, another instance on the same host', () => {
  it('a restarted agent loads table and snapshot with one reconcile, without a gap', async () => {
    const snap = lease('lse_snap', '198.18.1.0/24', 60_000);
    await enforcer.apply({ upserts: [snap], deletes: [] });
    const restarted = new NftEnforcer({ mode: 'host', nftCommand: ['ip', 'netns', 'exec', host, 'nft'] });
    try {
      const report = await restarted.reconcile(new Map([[snap.leaseId, snap]]));
      expect(report).toMatchObject({ tampered: false, missing: 0, extra: 0 });
      expect(await connect(client)).toBe(true);
      await restarted.apply({ upserts: [], deletes: ['lse_snap'] });
      expect(await connect(client)).toBe(false);
    } finally {
      await restarted.close();
    }
    // The first instance's delete of an element that is already gone must still succeed.
    await enforcer.apply({ upserts: [], deletes: ['lse_snap'] });
  });

  it('admin-segment sources are accepted without any lease', async () => {
    const admin = new NftEnforcer({
      mode: 'host',
      nftCommand: ['ip', 'netns', 'exec', host, 'nft'],
      adminCidrs: ['198.18.3.0/24', '2001:2:9::/48'],
    });
    try {
      await admin.init();
      expect(await connect(outside)).toBe(true);
      expect(await connect(client)).toBe(false);
    } finally {
      await admin.close();
    }
    await enforcer.init();
    expect(await connect(outside)).toBe(false);
  });

  it('without connection cutting, established connections survive a delete (ct state established)', async () => {
    const keep = new NftEnforcer({
      mode: 'host',
      nftCommand: ['ip', 'netns', 'exec', host, 'nft'],
      cutConnectionsOnDelete: false,
    });
    try {
      await keep.init();
      await keep.apply({ upserts: [lease('lse_keep', '198.18.1.0/24', 60_000)], deletes: [] });
      const held = await lab.hold(client, '198.18.1.2', 5432);
      try {
        await keep.apply({ upserts: [], deletes: ['lse_keep'] });
        expect(await connect(client)).toBe(false);
        expect(await held.echo('survives')).toBe(true);
      } finally {
        held.close();
      }
    } finally {
      await keep.close();
    }
  });
});

describe('NftEnforcer, listings beside applies', () => {
  /**
   * nft for `host` whose table listings come back 600 ms after nft read the kernel, so a listing is
   * reliably stale by the applies that commit meanwhile (as a 50k-element listing is for seconds).
   */
  const slowListing = (): NftEnforcer =>
    new NftEnforcer({
      mode: 'host',
      nftCommand: [
        'sh',
        '-c',
        'ip netns exec "$0" nft "$@"; rc=$?; case " $* " in *" list table "*) sleep 0.6 ;; esac; exit $rc',
        host,
      ],
      conntrackCommand: ['ip', 'netns', 'exec', host, 'conntrack'],
      graceMs: 0,
      log: (m) => logs.push(m),
    });

  it('a lease renewed while reconcile lists the kernel and then dropped from `desired` is closed', async () => {
    const slow = slowListing();
    try {
      await slow.init();
      const l = lease('lse_race_rev', '198.18.1.0/24', 60_000);
      await slow.apply({ upserts: [l], deletes: [] });
      expect(await connect(client)).toBe(true);
      const desired = new Map([[l.leaseId, l]]);
      const reconciling = slow.reconcile(desired);
      await sleep(200); // the listing has been read and is on its way back
      // A renewal commits meanwhile (applies do not wait for listings), and the lease is revoked: the
      // agent's live map lost it, its delete batch is still pending. (The map changes before the apply
      // settles, so the reconcile, queued behind that apply, surely reads it without the lease.)
      const renewing = slow.apply({ upserts: [{ ...l, expiresAtMs: Date.now() + 120_000 }], deletes: [] });
      desired.delete(l.leaseId);
      await renewing;
      const report = await reconciling;
      expect(report.tampered).toBe(false);
      // reconcile makes the kernel hold exactly `desired`.
      expect((await elements()).has('lse_race_rev')).toBe(false);
      await slow.apply({ upserts: [], deletes: [l.leaseId] }); // the agent's pending batch
      await slow.settled();
      expect((await elements()).has('lse_race_rev')).toBe(false);
      expect(await connect(client)).toBe(false);
    } finally {
      await slow.close();
    }
  });

  it('a lease granted in a slot freed while reconcile lists the kernel is applied by that reconcile', async () => {
    const slow = slowListing();
    try {
      await slow.init();
      const old = lease('lse_race_old', '198.18.1.0/24', 60_000);
      await slow.apply({ upserts: [old], deletes: [] });
      const desired = new Map([[old.leaseId, old]]);
      const reconciling = slow.reconcile(desired);
      await sleep(200);
      // The old lease is released while the listing is on its way back, and the same opening is granted
      // again: in the agent's live map, its batch still pending.
      const releasing = slow.apply({ upserts: [], deletes: [old.leaseId] });
      const next = lease('lse_race_new', '198.18.1.0/24', 60_000);
      desired.delete(old.leaseId);
      desired.set(next.leaseId, next);
      await releasing;
      const report = await reconciling;
      expect(report.tampered).toBe(false);
      expect((await elements()).get('lse_race_new')?.set).toBe('open4');
      expect(await connect(client)).toBe(true);
      await slow.apply({ upserts: [], deletes: [next.leaseId] });
      await slow.settled();
      expect(await connect(client)).toBe(false);
    } finally {
      await slow.close();
    }
  });
});
