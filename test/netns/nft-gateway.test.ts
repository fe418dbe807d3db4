/**
 * The nftables enforcer in gateway mode, with real packets routed through a gateway namespace:
 *
 *   [gcli 198.18.4.1] --veth-- [gw 198.18.4.254 | 198.18.5.254, forwarding] --veth-- [gsrv 198.18.5.1]
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NftEnforcer } from '../../client-sdk/enforcer/nft-enforcer.js';
import type { EnforcerLease } from '../../client-sdk/enforcer/types.js';
import { NetnsLab } from '../helpers/netns.js';

const lab = new NetnsLab();

afterAll(async () => {
  await lab.cleanup();
});

describe('NftEnforcer, gateway mode', () => {
  let gcli = '';
  let gw = '';
  let gsrv = '';
  let gateway: NftEnforcer;

  beforeAll(async () => {
    gcli = await lab.namespace('gcli');
    gw = await lab.namespace('gw');
    gsrv = await lab.namespace('gsrv');
    await lab.link({ ns: gcli, addrs: ['198.18.4.1/24'] }, { ns: gw, addrs: ['198.18.4.254/24'] });
    await lab.link({ ns: gw, addrs: ['198.18.5.254/24'] }, { ns: gsrv, addrs: ['198.18.5.1/24'] });
    await lab.must(gcli, ['ip', 'route', 'add', '198.18.5.0/24', 'via', '198.18.4.254']);
    await lab.must(gsrv, ['ip', 'route', 'add', '198.18.4.0/24', 'via', '198.18.5.254']);
    await lab.must(gw, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await lab.listen(gsrv, 5432);
    gateway = new NftEnforcer({
      mode: 'gateway',
      nftCommand: ['ip', 'netns', 'exec', gw, 'nft'],
      conntrackCommand: ['ip', 'netns', 'exec', gw, 'conntrack'],
    });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('forwards only leased flows', async () => {
    expect(await lab.canConnect(gcli, '198.18.5.1', 5432)).toBe(true);
    await gateway.init();
    expect(await lab.canConnect(gcli, '198.18.5.1', 5432)).toBe(false);
    const l: EnforcerLease = {
      leaseId: 'lse_gw',
      expiresAtMs: Date.now() + 60_000,
      rules: [
        {
          protocol: 'tcp',
          portFrom: 5400,
          portTo: 5500,
          sourceCidr: '198.18.4.0/24',
          destination: '198.18.5.1',
        },
      ],
    };
    await gateway.apply({ upserts: [l], deletes: [] });
    expect(await lab.canConnect(gcli, '198.18.5.1', 5432)).toBe(true);
    expect((await gateway.counters())[0]).toMatchObject({ leaseId: 'lse_gw', packets: 1 });
    const held = await lab.hold(gcli, '198.18.5.1', 5432);
    try {
      await gateway.apply({ upserts: [], deletes: ['lse_gw'] });
      await gateway.settled(); // connection cuts run after the kernel change
      expect(await lab.canConnect(gcli, '198.18.5.1', 5432)).toBe(false);
      // A port range: conntrack entries are listed and cut one by one.
      expect(await held.echo('cut', 1500)).toBe(false);
    } finally {
      held.close();
    }
    await gateway.close();
    await gateway.close();
    await expect(gateway.counters()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
