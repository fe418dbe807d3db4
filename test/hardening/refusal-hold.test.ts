/**
 * Issue 10, flood fairness: a call refused by the rate limit is held before it is answered
 * (server/limits/refusal-hold.ts), so a client that ignores retry-after cannot set the pace of its
 * own refusals. The hold is bounded server-wide, never outlasts the call's deadline, and ends at
 * shutdown. Bounds asserted here are the hold's own (a lower bound on the wait, or "well before
 * the hold"), not performance figures.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { OpeningClient } from '../../client-sdk/wire.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import { RefusalHold } from '../../server/limits/index.js';
import { callError, hostClient, removeDir, startTestServer, type TestServer } from '../helpers/pinhole.js';
import { open, webHttps } from './fixtures.js';

const RETRY_AFTER = 'pinhole-retry-after-ms';

/** Open with a deadline `deadlineMs` from now. */
function openWithin(c: OpeningClient, r: OpenRequest, deadlineMs: number): Promise<OpenResponse__Output> {
  return new Promise((resolve, reject) => {
    c.Open(
      r,
      { deadline: Date.now() + deadlineMs },
      (err: ServiceError | null, res?: OpenResponse__Output) => {
        if (err !== null) reject(err);
        else if (res === undefined) reject(new Error('empty response'));
        else resolve(res);
      },
    );
  });
}

/** The call's refusal and how long it took to arrive, ms. */
async function timedRefusal(p: Promise<unknown>): Promise<{ err: ServiceError; ms: number }> {
  const t0 = performance.now();
  const err = await callError(p);
  return { err, ms: performance.now() - t0 };
}

describe('RefusalHold', () => {
  it('holds for holdMs, ends early on abort, answers at once when full or closed', async () => {
    const hold = new RefusalHold({ holdMs: 1000, maxHeld: 2 });
    const t0 = performance.now();
    const abort = new AbortController();
    const held = [
      hold.hold(Infinity).then(() => performance.now() - t0),
      hold.hold(Infinity, abort.signal).then(() => performance.now() - t0),
    ];
    expect(hold.held).toBe(2);
    // Full: the third is not held.
    await hold.hold(Infinity);
    expect(performance.now() - t0).toBeLessThan(500);
    abort.abort();
    const [full, aborted] = await Promise.all(held);
    expect(aborted).toBeLessThan(500);
    expect(full).toBeGreaterThanOrEqual(495); // jittered over [500, 1000] ms; timers may fire a ms early
    expect(hold.held).toBe(0);

    // A deadline shortens the hold to half the time left.
    const d0 = performance.now();
    await hold.hold(Date.now() + 200);
    const deadlineHeld = performance.now() - d0;
    expect(deadlineHeld).toBeLessThan(200);
    expect(deadlineHeld).toBeGreaterThanOrEqual(95);

    // close() answers what is held and holds nothing after it.
    const late = hold.hold(Infinity);
    expect(hold.held).toBe(1);
    hold.close();
    await late;
    expect(hold.held).toBe(0);
    const c0 = performance.now();
    await hold.hold(Infinity);
    expect(performance.now() - c0).toBeLessThan(500);
  });
});

describe('rate-limit refusals over gRPC are held', () => {
  let ts: TestServer | undefined;
  let web: OpeningClient | undefined;
  afterEach(async () => {
    web?.close();
    await ts?.close();
    if (ts !== undefined) removeDir(ts.dataDir);
    ts = undefined;
    web = undefined;
  });

  it('a refusal arrives after the hold, with RESOURCE_EXHAUSTED and its retry-after', async () => {
    ts = await startTestServer({ limits: { requestsPerSecond: 0.01, burst: 1, refusalHoldMs: 2000 } });
    web = hostClient(ts.address, ts.certDir, 'web-1');
    expect((await open(web, webHttps('hold-1'))).decision?.outcome).toBe('GRANTED');
    const { err, ms } = await timedRefusal(open(web, webHttps('hold-2')));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/^rate limit: host\/web-1 exceeded 0.01 requests\/s/);
    expect(Number(err.metadata.get(RETRY_AFTER)[0])).toBeGreaterThan(0);
    expect(ms).toBeGreaterThanOrEqual(995); // held 1-2 s
    // Only refusals are held: another identity's call is answered at once (not a refusal).
    const db = hostClient(ts.address, ts.certDir, 'db-1');
    try {
      const d0 = performance.now();
      await callError(openWithin(db, { ...webHttps('hold-db'), openings: [] }, 5000));
      expect(performance.now() - d0).toBeLessThan(1000);
    } finally {
      db.close();
    }
  });

  it('a short deadline still hears RESOURCE_EXHAUSTED, before the deadline, not DEADLINE_EXCEEDED', async () => {
    ts = await startTestServer({ limits: { requestsPerSecond: 0.01, burst: 1, refusalHoldMs: 5000 } });
    web = hostClient(ts.address, ts.certDir, 'web-1');
    await open(web, webHttps('dl-1'));
    const { err, ms } = await timedRefusal(openWithin(web, webHttps('dl-2'), 800));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(ms).toBeLessThan(800);
  });

  it('past maxHeldRefusals a refusal is answered at once; shutdown answers the held ones', async () => {
    ts = await startTestServer({
      limits: { requestsPerSecond: 0.01, burst: 1, refusalHoldMs: 8000, maxHeldRefusals: 1 },
    });
    web = hostClient(ts.address, ts.certDir, 'web-1');
    await open(web, webHttps('cap-1'));
    const t0 = performance.now();
    const heldCall = callError(open(web, webHttps('cap-2'))).then((err) => ({
      err,
      ms: performance.now() - t0,
    }));
    // Once the server holds the first refusal, a second is refused without a hold.
    await new Promise((r) => setTimeout(r, 300));
    const second = await timedRefusal(open(web, webHttps('cap-3')));
    expect(second.err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(second.ms).toBeLessThan(4000);
    // Shutdown does not wait out the 8 s hold: the held call is answered as the server drains.
    const closing = ts.close();
    const first = await heldCall;
    await closing;
    expect(first.err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(first.ms).toBeLessThan(8000);
  });
});
