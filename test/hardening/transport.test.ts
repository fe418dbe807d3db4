/**
 * Issue 10, transport: internal error text never reaches a client, deadlines are honoured, and
 * `grpc.max_concurrent_streams` bounds the calls in progress on one connection.
 * (A Watch client that stops reading is cut by the hub's bounded queue: test/unit/watch-hub.test.ts
 * "cuts a slow subscriber" at unit level, test/netns/e2e-enforcement.test.ts end to end.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { OpeningClient } from '../../client-sdk/wire.js';
import type { WaitDecisionEvent__Output } from '../../proto/gen/pinhole/v1/WaitDecisionEvent.js';
import { configureFailpoints } from '../../server/failpoints.js';
import {
  callError,
  hostClient,
  removeDir,
  startTestServer,
  unaryCall,
  type TestServer,
} from '../helpers/pinhole.js';
import { dbBackup, open, sleep, webHttps } from './fixtures.js';

let ts: TestServer;
let web: OpeningClient;
let db: OpeningClient;

beforeAll(async () => {
  ts = await startTestServer({ limits: { maxConcurrentStreams: 4 } });
  web = hostClient(ts.address, ts.certDir, 'web-1');
  db = hostClient(ts.address, ts.certDir, 'db-1');
});
afterAll(async () => {
  web.close();
  db.close();
  await ts.close();
  removeDir(ts.dataDir);
});
afterEach(() => {
  configureFailpoints(undefined);
});

describe('internal errors', () => {
  it('reach the client only as "internal error (request …)"; a retry returns the committed lease', async () => {
    configureFailpoints('after-commit-before-reply=throw');
    const err = await callError(open(web, webHttps('internal-1')));
    configureFailpoints(undefined);
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toMatch(/^internal error \(request [0-9a-f-]{36}\); the server log has the cause$/);
    expect(err.details).not.toMatch(/failpoint|secret|sqlite|var\/lib/);
    expect(err.metadata.get('pinhole-retry-after-ms')).toEqual([]);
    // The commit happened before the fault: the same request id returns that lease (idempotency).
    const retry = await open(web, webHttps('internal-1'));
    expect(retry.decision?.outcome).toBe('GRANTED');
    const stored = await ts.server.store.listLeases({ host: 'web-1' });
    expect(stored.filter((l) => l.requestId === 'internal-1').map((l) => l.id)).toEqual([retry.lease?.id]);
  });

  it('a fault before the store commit is UNAVAILABLE with a retry-after, and nothing is granted', async () => {
    configureFailpoints('before-commit=throw');
    const err = await callError(open(web, webHttps('internal-2')));
    configureFailpoints(undefined);
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).not.toMatch(/failpoint|secret/);
    expect(err.metadata.get('pinhole-retry-after-ms')).toEqual(['1000']);
    expect(
      (await ts.server.store.listLeases({ host: 'web-1' })).some((l) => l.requestId === 'internal-2'),
    ).toBe(false);
    expect((await open(web, webHttps('internal-2'))).decision?.outcome).toBe('GRANTED');
  });
});

function waitDecision(
  pendingId: string,
  deadlineMs: number,
): { stream: ClientReadableStream<WaitDecisionEvent__Output>; ended: Promise<ServiceError> } {
  const stream = db.WaitDecision({ pendingId }, { deadline: Date.now() + deadlineMs });
  const ended = new Promise<ServiceError>((resolve) => {
    stream.on('data', () => undefined);
    stream.on('error', resolve);
  });
  return { stream, ended };
}

describe('deadlines', () => {
  it('a long server stream ends with DEADLINE_EXCEEDED at the client deadline; the server goes on', async () => {
    const pending = await open(db, dbBackup('deadline-1'));
    expect(pending.decision?.outcome).toBe('PENDING');
    const t0 = Date.now();
    const err = await waitDecision(pending.pendingId, 300).ended;
    const tookMs = Date.now() - t0;
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(tookMs).toBeGreaterThanOrEqual(250);
    expect(tookMs).toBeLessThan(3000);
    expect((await unaryCall(db, db.ListMine, {})).serverEpoch).toBe(ts.server.epoch);
  });

  it('a unary call whose deadline has passed is not answered with anything but DEADLINE_EXCEEDED', async () => {
    const err = await callError(
      new Promise((resolve, reject) => {
        web.ListMine({}, { deadline: Date.now() - 1 }, (e, r) => {
          if (e === null) resolve(r);
          else reject(e);
        });
      }),
    );
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
  });
});

describe('grpc.max_concurrent_streams (limits.maxConcurrentStreams = 4)', () => {
  it('a fifth call on one connection waits until a stream ends', async () => {
    const pending = await open(db, dbBackup('streams-1'));
    const streams = Array.from({ length: 4 }, () => waitDecision(pending.pendingId, 20_000));
    await sleep(300); // the four streams are open on db-1's connection
    const blocked = await callError(
      new Promise((resolve, reject) => {
        db.ListMine({}, { deadline: Date.now() + 700 }, (e, r) => {
          if (e === null) resolve(r);
          else reject(e);
        });
      }),
    );
    expect(blocked.code).toBe(status.DEADLINE_EXCEEDED);
    // Another connection (web-1) is not affected.
    await unaryCall(web, web.ListMine, {});
    streams[0]?.stream.cancel();
    await streams[0]?.ended;
    expect((await unaryCall(db, db.ListMine, {})).serverEpoch).toBe(ts.server.epoch);
    for (const s of streams) s.stream.cancel();
    await Promise.all(streams.map((s) => s.ended));
  });
});
