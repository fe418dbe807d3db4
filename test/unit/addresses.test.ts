import { describe, expect, it } from 'vitest';
import ipaddr from 'ipaddr.js';
import { parseCidr } from '../../server/core/addresses.js';

/** What parseCidr answered for an IPv4 CIDR before its one-pass path: ipaddr.js's own network address. */
function reference(text: string): string {
  const [, prefix] = ipaddr.IPv4.parseCIDR(text);
  return `${ipaddr.IPv4.networkAddressFromCIDR(text).toString()}/${prefix}`;
}

describe('parseCidr', () => {
  it('normalises plain IPv4 CIDRs to their network, as ipaddr.js does', () => {
    const cases = ['198.19.3.7/32', '198.18.1.7/24', '10.0.0.1/8', '255.255.255.255/0', '0.0.0.0/0'];
    for (let i = 0; i < 2000; i++) {
      const octets = Array.from({ length: 4 }, () => Math.floor(Math.random() * 256));
      cases.push(`${octets.join('.')}/${Math.floor(Math.random() * 33)}`);
    }
    for (const text of cases) expect(parseCidr(text)).toEqual({ ok: true, value: reference(text) });
  });

  it('still refuses, with the same messages, what is not a plain IPv4 CIDR', () => {
    expect(parseCidr('198.18.1.256/24')).toEqual({
      ok: false,
      error: '"198.18.1.256/24": "198.18.1.256" is not an IP address',
    });
    expect(parseCidr('198.18.1.0/33')).toEqual({
      ok: false,
      error: '"198.18.1.0/33": prefix "33" is out of range; use 0-32',
    });
    expect(parseCidr('198.018.1.0/24')).toMatchObject({ ok: false });
    expect(parseCidr('198.18.1/24')).toMatchObject({ ok: false });
    expect(parseCidr('198.18.1.0/x')).toMatchObject({ ok: false });
  });

  it('leaves other spellings to the general path', () => {
    expect(parseCidr('198.18.1.7')).toEqual({ ok: true, value: '198.18.1.7/32' });
    expect(parseCidr('198.18.1.7/024')).toEqual({ ok: true, value: '198.18.1.0/24' });
    expect(parseCidr('2001:db8::1/64')).toEqual({ ok: true, value: '2001:db8::/64' });
  });
});
