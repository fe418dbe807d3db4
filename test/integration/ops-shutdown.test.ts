/**
 * Issue 11: SIGTERM during a Watch and a burst of Opens. Every Open in flight gets an answer (a
 * grant or a clean UNAVAILABLE: never a hang, never a reset without status), the Watch ends with
 * UNAVAILABLE, the process exits 0, and a watcher resumes on the restarted server (same data dir)
 * from its last revision with no gap: revisions seen across both servers are exactly 1..N.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceError } from '@grpc/grpc-js';
import {
  readClientTls,
  watchClient,
  type LeaseWatchClient,
  type OpeningClient,
} from '../../client-sdk/wire.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import type { ListMineResponse__Output } from '../../proto/gen/pinhole/v1/ListMineResponse.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';
import {
  hostClient,
  removeDir,
  sharedPki,
  spawnServer,
  tempDir,
  unaryCall,
  type ServerProcess,
} from '../helpers/pinhole.js';

const BURST = 120;
let dataDir: string;
let certDir: string;
const running: ServerProcess[] = [];

beforeAll(() => {
  dataDir = tempDir();
  certDir = sharedPki();
});
afterAll(async () => {
  for (const p of running) await p.kill('SIGKILL');
  removeDir(dataDir);
});

async function start(): Promise<ServerProcess> {
  const proc = await spawnServer({ dataDir, certDir, config: { shutdown: { graceMs: 15_000 } } });
  running.push(proc);
  return proc;
}

const request = (requestId: string): OpenRequest => ({
  requestId,
  openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }],
  requestedTtlSeconds: 600,
});

interface Watcher {
  readonly events: WatchEvent__Output[];
  /** Resolves with the status code the stream ended with. */
  readonly ended: Promise<number>;
  readonly client: LeaseWatchClient;
  waitFor(predicate: (e: WatchEvent__Output) => boolean): Promise<void>;
}

function watch(address: string, fromRevision: number): Watcher {
  const client = watchClient(address, readClientTls(certDir, 'firewall-gw-1'));
  const stream = client.Watch({ fromRevision: String(fromRevision), scope: { hosts: [], groups: [] } });
  const events: WatchEvent__Output[] = [];
  const waiters: { predicate: (e: WatchEvent__Output) => boolean; resolve: () => void }[] = [];
  stream.on('data', (e: WatchEvent__Output) => {
    events.push(e);
    for (const w of [...waiters]) {
      if (w.predicate(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const ended = new Promise<number>((resolve) => {
    stream.on('error', (err: ServiceError) => {
      resolve(err.code);
    });
    stream.on('end', () => {
      resolve(0);
    });
  });
  return {
    events,
    ended,
    client,
    waitFor: (predicate) =>
      events.some(predicate)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ predicate, resolve })),
  };
}

/** Settles within `ms` or reports the call as hung. */
function settleWithin<T>(
  p: Promise<T>,
  ms: number,
): Promise<{ ok: true; value: T } | { ok: false; error: ServiceError | 'hung' }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve({ ok: false, error: 'hung' });
    }, ms);
    p.then(
      (value) => {
        clearTimeout(timer);
        resolve({ ok: true, value });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ ok: false, error: error as ServiceError });
      },
    );
  });
}

describe('SIGTERM during a Watch and a burst of Opens', () => {
  it('answers every Open, ends the Watch with UNAVAILABLE, and the watcher resumes without a gap', async () => {
    const first = await start();
    const web: OpeningClient = hostClient(first.address, certDir, 'web-1');
    const watcher = watch(first.address, 0);
    await watcher.waitFor((e) => e.type === 'PROGRESS');
    const warm: OpenResponse__Output = await unaryCall(web, web.Open, request('warm-1'));
    expect(warm.decision?.outcome).toBe('GRANTED');
    await watcher.waitFor((e) => e.type === 'UPSERT' && e.leaseId === warm.lease?.id);

    // The burst, and SIGTERM as soon as the first answer is back: the rest are in flight.
    const openNow = (i: number): ReturnType<typeof settleWithin<OpenResponse__Output>> =>
      settleWithin(unaryCall(web, web.Open, request(`burst-${i}`)), 20_000);
    const burst = Array.from({ length: BURST }, (_, i) => openNow(i));
    await Promise.race(burst);
    const sentAt = Date.now();
    const exited = first.kill('SIGTERM');
    // And more while the server drains and after it is gone: these must fail cleanly.
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 10));
      burst.push(openNow(burst.length));
    }
    const results = await Promise.all(burst);
    const exitCode = await exited;
    expect(Date.now() - sentAt).toBeLessThan(15_000); // drained, not forced at the grace deadline

    const granted = results.flatMap((r) => (r.ok ? [r.value] : []));
    const failures = results.flatMap((r) => (r.ok ? [] : [r.error]));
    for (const g of granted) expect(g.decision?.outcome).toBe('GRANTED');
    // Clean UNAVAILABLE only: no hang, no CANCELLED/INTERNAL from a reset stream.
    for (const f of failures) {
      expect(f, 'an Open hung through shutdown').not.toBe('hung');
      expect(f === 'hung' ? -1 : f.code, f === 'hung' ? '' : f.details).toBe(14);
    }
    expect(granted.length).toBeGreaterThanOrEqual(BURST / 2);
    expect(failures.length).toBeGreaterThan(0);
    expect(await watcher.ended).toBe(14);
    expect(exitCode).toBe(0);
    expect(first.output()).toMatch(/"msg":"stopped"/);
    // Structured logs carry the client's request id on every request line.
    expect(first.output()).toMatch(/"requestId":"burst-\d+".*"msg":"request"/);
    web.close();
    watcher.client.close();

    // Restart on the same data dir; the watcher resumes from the last revision it had.
    const had = Math.max(...watcher.events.map((e) => Number(e.revision)));
    const second = await start();
    const web2 = hostClient(second.address, certDir, 'web-1');
    const resumed = watch(second.address, had);
    await resumed.waitFor((e) => e.type === 'PROGRESS');
    const mine: ListMineResponse__Output = await unaryCall(web2, web2.ListMine, {});
    // Nothing acknowledged was lost.
    const live = new Set(mine.leases.map((l) => l.id));
    for (const g of [warm, ...granted]) expect(live.has(g.lease?.id ?? '')).toBe(true);

    // No gap: every lease revision committed (all grants here) is seen exactly once across both streams.
    const head = Number(resumed.events.find((e) => e.type === 'PROGRESS')?.revision);
    const upserts = [...watcher.events, ...resumed.events]
      .filter((e) => e.type === 'UPSERT' && !e.snapshot)
      .map((e) => Number(e.revision));
    expect(resumed.events.filter((e) => e.type !== 'PROGRESS').every((e) => Number(e.revision) > had)).toBe(
      true,
    );
    expect(upserts).toEqual(Array.from({ length: head }, (_, i) => i + 1));

    // An Open that got UNAVAILABLE is retried with the same request id: it gets one answer.
    const retried = results.map((r, i) => ({ r, id: `burst-${i}` })).filter((x) => !x.r.ok);
    for (const { id } of retried.slice(0, 10)) {
      const again: OpenResponse__Output = await unaryCall(web2, web2.Open, request(id));
      expect(again.decision?.outcome).toBe('GRANTED');
    }
    resumed.client.close();
    web2.close();
    expect(await second.kill('SIGTERM')).toBe(0);
  });
});
