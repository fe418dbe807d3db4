/**
 * Every malformed request gets INVALID_ARGUMENT naming the field, what was wrong and what is
 * accepted; transient failures carry a retry-after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import type { OpeningClient } from '../../client-sdk/wire.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import {
  callError,
  hostClient,
  removeDir,
  startTestServer,
  unaryCall,
  type TestServer,
} from '../helpers/pinhole.js';

let ts: TestServer;
let web: OpeningClient;

beforeAll(async () => {
  ts = await startTestServer();
  web = hostClient(ts.address, ts.certDir, 'web-1');
});
afterAll(async () => {
  web.close();
  await ts.close();
  removeDir(ts.dataDir);
});

const base = (over: Partial<OpenRequest>): OpenRequest => ({
  requestId: `bad-${Math.random().toString(36).slice(2)}`,
  openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }],
  requestedTtlSeconds: 60,
  ...over,
});

const cases: [string, OpenRequest, string, RegExp][] = [
  [
    'port 0',
    base({ openings: [{ ports: { protocol: 'TCP', from: 0 }, sources: [{ cidr: '198.18.1.0/24' }] }] }),
    'openings[0].ports.from',
    /0 is out of range; use 1-65535/,
  ],
  [
    'port 70000',
    base({ openings: [{ ports: { protocol: 'TCP', from: 70000 }, sources: [{ cidr: '198.18.1.0/24' }] }] }),
    'openings[0].ports.from',
    /70000 is out of range; use 1-65535/,
  ],
  [
    'reversed range',
    base({
      openings: [{ ports: { protocol: 'TCP', from: 90, to: 80 }, sources: [{ cidr: '198.18.1.0/24' }] }],
    }),
    'openings[0].ports.to',
    /below from/,
  ],
  [
    'unknown protocol',
    base({
      openings: [
        { ports: { protocol: 'PROTOCOL_UNSPECIFIED', from: 80 }, sources: [{ cidr: '198.18.1.0/24' }] },
      ],
    }),
    'openings[0].ports.protocol',
    /use TCP, UDP or SCTP/,
  ],
  [
    'unknown protocol number',
    base({
      openings: [
        { ports: { protocol: 9 as unknown as 'TCP', from: 80 }, sources: [{ cidr: '198.18.1.0/24' }] },
      ],
    }),
    'openings[0].ports.protocol',
    /use TCP, UDP or SCTP/,
  ],
  [
    'bad CIDR prefix',
    base({ openings: [{ ports: { protocol: 'TCP', from: 80 }, sources: [{ cidr: '1.2.3.4/33' }] }] }),
    'openings[0].sources[0].cidr',
    /prefix "33" is out of range; use 0-32/,
  ],
  [
    'bad CIDR address',
    base({ openings: [{ ports: { protocol: 'TCP', from: 80 }, sources: [{ cidr: '198.18.1/24' }] }] }),
    'openings[0].sources[0].cidr',
    /not an IP address/,
  ],
  [
    'IPv4-mapped trick',
    base({ openings: [{ ports: { protocol: 'TCP', from: 80 }, sources: [{ cidr: '::ffff:0:0/96' }] }] }),
    'openings[0].sources[0].cidr',
    /IPv4-mapped/,
  ],
  [
    'TTL of -5s',
    base({ requestedTtlSeconds: -5 }),
    'requested_ttl_seconds',
    /out of range; use 1-604800 seconds/,
  ],
  ['empty opening list', base({ openings: [] }), 'openings', /list at least one opening/],
  [
    '1 MB description',
    base({ description: 'x'.repeat(1024 * 1024) }),
    'description',
    /1048576 bytes; use at most 1024/,
  ],
  ['empty request id', base({ requestId: '' }), 'request_id', /client-chosen id/],
  [
    'neither app nor ports',
    base({ openings: [{ sources: [{ cidr: '198.18.1.0/24' }] }] }),
    'openings[0]',
    /set exactly one of app or ports/,
  ],
  [
    'empty source',
    base({ openings: [{ ports: { protocol: 'TCP', from: 80 }, sources: [{}] }] }),
    'openings[0].sources[0]',
    /set one of cidr, group, host or any/,
  ],
  [
    'bad destination',
    base({
      openings: [
        {
          ports: { protocol: 'TCP', from: 80 },
          destinations: ['web-1'],
          sources: [{ cidr: '198.18.1.0/24' }],
        },
      ],
    }),
    'openings[0].destinations[0]',
    /not an IP address/,
  ],
];

describe('malformed requests', () => {
  it.each(cases.map(([label, request, field, message]) => ({ label, request, field, message })))(
    '$label → INVALID_ARGUMENT naming $field',
    async ({ request, field, message }) => {
      const err = await callError(unaryCall(web, web.Open, request));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details.startsWith(`${field}: `)).toBe(true);
      expect(err.details).toMatch(message);
    },
  );

  it('a bad lease id on Renew names lease_id', async () => {
    const err = await callError(unaryCall(web, web.Renew, { leaseId: '../../etc' }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^lease_id: /);
  });
});

describe('transient failures', () => {
  it('a store that cannot commit answers UNAVAILABLE with a retry-after, never a grant', async () => {
    await ts.server.store.close();
    const err = await callError(unaryCall(web, web.Open, base({})));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.metadata.get('pinhole-retry-after-ms')).toEqual(['1000']);
    expect(err.details).toMatch(/retry/);
  });
});
