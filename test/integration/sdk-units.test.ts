/**
 * The SDK's pure parts without a server: option parsing, the renewal schedule, error mapping,
 * durations and the `pinhole leases` table.
 */
import { describe, expect, it } from 'vitest';
import { Metadata, status } from '@grpc/grpc-js';
import { classifyRenewRefusal, PinholeClientError, toClientError } from '../../client-sdk/errors.js';
import { parseDurationMs, parseTtlSeconds } from '../../client-sdk/durations.js';
import {
  checkRequestId,
  newRequestId,
  parsePortSpec,
  parseSourceSpec,
  toIntent,
  toOpenRequest,
} from '../../client-sdk/open-options.js';
import {
  backoffMs,
  firstRenewalAt,
  renewalDeadline,
  renewalRetryAt,
  retryGapMs,
  sleep,
  termEndMs,
} from '../../client-sdk/timing.js';
import { formatLeases, formatRemaining } from '../../client-sdk/cli/table.js';
import { leaseFromWire } from '../../client-sdk/types.js';

function rejection(fn: () => unknown): PinholeClientError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PinholeClientError) return e;
    throw e;
  }
  throw new Error('expected a PinholeClientError');
}

describe('open options', () => {
  it('parses ports, sources and a TTL into the wire request', () => {
    const intent = toIntent({
      app: 'postgresql',
      ports: ['tcp/8080', { protocol: 'udp', from: 5000, to: 5010 }],
      from: ['198.18.1.0/24', 'group:db-replicas', 'host:db-1', 'any', { cidr: '2001:db8::/32' }],
      ttl: '10m',
      description: 'orders',
      allOrNothing: true,
    });
    const request = toOpenRequest(intent, 'req-1');
    expect(request.requestId).toBe('req-1');
    expect(request.requestedTtlSeconds).toBe(600);
    expect(request.allOrNothing).toBe(true);
    expect(request.openings?.map((o) => o.app ?? o.ports)).toEqual([
      'postgresql',
      { protocol: 'TCP', from: 8080, to: 8080 },
      { protocol: 'UDP', from: 5000, to: 5010 },
    ]);
    expect(request.openings?.[0]?.sources).toEqual([
      { cidr: '198.18.1.0/24' },
      { group: 'db-replicas' },
      { host: 'db-1' },
      { any: true },
      { cidr: '2001:db8::/32' },
    ]);
    expect(toIntent({ ports: 'tcp/22' }).ttlSeconds).toBe(0); // policy default
  });

  it('refuses bad options naming the option and what is accepted', () => {
    expect(rejection(() => toIntent({})).message).toMatch(/^app: give app or ports/);
    expect(rejection(() => parsePortSpec('tcp/70000')).message).toBe(
      'ports.from: 70000 is out of range; use 1-65535',
    );
    expect(rejection(() => parsePortSpec('tcp/10-5')).message).toMatch(/ends before it starts/);
    expect(rejection(() => parsePortSpec('icmp/1')).message).toMatch(/is not a port spec/);
    expect(rejection(() => parseSourceSpec('db replicas', 'from[2]')).message).toMatch(
      /^from\[2\]: "db replicas" is not a source; use a CIDR/,
    );
    expect(rejection(() => toIntent({ ports: 'tcp/1', ttl: '0s' })).message).toMatch(
      /^ttl: "0s" is out of range/,
    );
    expect(rejection(() => toIntent({ ports: 'tcp/1', description: 'x'.repeat(1025) })).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect(rejection(() => checkRequestId('has space')).message).toMatch(/requestId/);
    expect(checkRequestId(newRequestId())).toMatch(/^sdk-/);
  });

  it('parses durations', () => {
    expect(parseDurationMs(90, 'x')).toBe(90_000);
    expect(parseDurationMs('90', 'x')).toBe(90_000);
    expect(parseDurationMs('1h30m', 'x')).toBe(5_400_000);
    expect(parseDurationMs('250ms', 'x')).toBe(250);
    expect(parseTtlSeconds('7d')).toBe(604_800);
    expect(rejection(() => parseTtlSeconds('8d')).message).toMatch(/out of range/);
    expect(rejection(() => parseDurationMs('ten minutes', '--ttl')).message).toMatch(
      /^--ttl: "ten minutes" is not a duration/,
    );
  });
});

describe('renewal schedule (RFC 6887 §11.2.1, scaled for short terms)', () => {
  const hour = { startMs: 0, lifetimeMs: 3_600_000 };

  it('renews between 1/2 and 5/8 of the term', () => {
    expect(firstRenewalAt(hour, 0)).toBe(1_800_000);
    expect(firstRenewalAt(hour, 0.999999)).toBeCloseTo(2_250_000, -1);
  });

  it('retries at 3/4 and 7/8, then halves the remainder, never closer than the gap', () => {
    expect(renewalRetryAt(hour, 1, 2_000_000)).toBe(2_700_000);
    expect(renewalRetryAt(hour, 2, 2_700_100)).toBe(3_150_000);
    expect(renewalRetryAt(hour, 3, 3_150_000)).toBe(3_150_000 + 225_000);
    // 40 s left: half is 20 s; 8 s left: the 4 s cap gives way to remaining/8.
    expect(renewalRetryAt(hour, 4, 3_560_000)).toBe(3_580_000);
    expect(retryGapMs(40_000)).toBe(4000);
    expect(retryGapMs(8_000)).toBe(1000);
    expect(retryGapMs(80)).toBe(25);
    // The server's retry-after is honoured...
    expect(renewalRetryAt(hour, 1, 2_000_000, 1_000_000)).toBe(3_000_000);
    // ...but not past the last moment a call can still finish before the term ends.
    expect(renewalRetryAt(hour, 1, 2_000_000, 10_000_000)).toBe(3_600_000 - 1000 - 250);
    expect(renewalRetryAt(hour, 5, 3_598_800)).toBeUndefined();
  });

  it('keeps attempts at least min(4 s, remaining/8) apart for a 2-second term', () => {
    const short = { startMs: 0, lifetimeMs: 2000 };
    let now = 1100;
    const attempts: number[] = [];
    for (let failures = 1; ; failures++) {
      const at = renewalRetryAt(short, failures, now);
      if (at === undefined) break;
      expect(at - now).toBeGreaterThanOrEqual(
        Math.min(retryGapMs(termEndMs(short) - now), termEndMs(short) - 200 - 100 - now),
      );
      attempts.push(at);
      now = at;
    }
    // 7/8 (1750) lies past the last useful start (term end - 10% margin - 5% call) and is pulled in.
    expect(attempts).toEqual([1500, 1700]);
    expect(attempts.every((a) => a <= 2000 - 200 - 100)).toBe(true);
    expect(renewalDeadline(short, 1500, 10_000)).toBe(1800); // the answer must leave a margin
  });

  it('backs off exponentially with jitter, capped, never below the server hint', () => {
    expect(backoffMs(1, 250, 30_000, 0)).toBe(125);
    expect(backoffMs(4, 250, 30_000, 0.999999)).toBeCloseTo(2000, 0);
    expect(backoffMs(30, 250, 30_000, 0)).toBe(15_000);
    expect(backoffMs(1, 250, 30_000, 0, 5000)).toBe(5000);
  });

  it('sleep rejects with CANCELLED when aborted', async () => {
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('gRPC errors become PinholeClientError', () => {
  it('keeps the server message, the code by name and the retry hint', () => {
    const metadata = new Metadata();
    metadata.set('pinhole-retry-after-ms', '1500');
    const err = toClientError(
      Object.assign(new Error('14 UNAVAILABLE: store is busy'), {
        code: status.UNAVAILABLE,
        details: 'store is busy',
        metadata,
      }),
      'Renew',
    );
    expect(err).toBeInstanceOf(PinholeClientError);
    expect(err).toMatchObject({
      code: 'UNAVAILABLE',
      retryable: true,
      retryAfterMs: 1500,
      method: 'Renew',
      message: 'store is busy',
      grpcCode: 14,
    });
    const denied = toClientError({
      code: status.PERMISSION_DENIED,
      details: 'openings[0].destinations[0]: no',
      metadata: new Metadata(),
    });
    expect(denied).toMatchObject({ code: 'PERMISSION_DENIED', retryable: false, retryAfterMs: undefined });
    expect(toClientError(new Error('boom')).code).toBe('UNKNOWN');
  });

  it('reads revocations and max lifetime from Renew refusals', () => {
    expect(
      classifyRenewRefusal('lease_id: lse_1 was revoked by an administrator: maintenance window'),
    ).toEqual({ kind: 'revoked', by: 'admin', reason: 'maintenance window' });
    expect(
      classifyRenewRefusal(
        'lease_id: lse_1 was ended by a policy change: db-from-replicas: no longer allowed',
      ),
    ).toEqual({
      kind: 'revoked',
      by: 'policy',
      reason: 'db-from-replicas: no longer allowed',
    });
    expect(
      classifyRenewRefusal(
        'lease_id: lse_1 reached its max lifetime (ends 2030-01-01T00:00:00.000Z); Open again so policy is checked anew',
      ),
    ).toEqual({ kind: 'max-lifetime' });
    expect(classifyRenewRefusal('something else')).toEqual({ kind: 'other' });
  });
});

describe('pinhole leases table', () => {
  it('lists one line per rule', () => {
    const lease = leaseFromWire({
      id: 'lse_1',
      host: 'web-1',
      requestId: 'r',
      rules: [
        {
          protocol: 'TCP',
          portFrom: 5432,
          portTo: 5432,
          sourceCidr: '198.18.1.0/24',
          destination: '198.18.0.2',
        },
        {
          protocol: 'UDP',
          portFrom: 5000,
          portTo: 5010,
          sourceCidr: '198.18.1.0/24',
          destination: '198.18.0.2',
        },
      ],
      ttlSeconds: 300,
      grantedAtUnixMs: '1000',
      expiresAtUnixMs: '251000',
      maxLifetimeEndsAtUnixMs: '86401000',
      revision: '7',
      serverEpoch: 'e',
      state: 'LEASE_REALIZED',
      ruleId: 'db-from-replicas',
      description: 'orders',
      receipt: '',
      endReason: 'END_REASON_UNSPECIFIED',
      renewedAtUnixMs: '0',
      endDetail: '',
    });
    expect(lease).toMatchObject({ state: 'realized', expiresAtMs: 251_000, revision: '7' });
    expect(lease.endReason).toBeUndefined();
    const table = formatLeases([lease], 1000);
    expect(table.split('\n')[1]).toMatch(
      /^lse_1 +realized +4m10s +db-from-replicas +tcp\/5432 from 198\.18\.1\.0\/24 to 198\.18\.0\.2 +orders$/,
    );
    expect(table.split('\n')[2]).toMatch(/^ +udp\/5000-5010 from/);
    expect(formatLeases([], 0)).toBe('no live leases\n');
    expect(formatRemaining(3_660_000)).toBe('1h1m');
  });
});
