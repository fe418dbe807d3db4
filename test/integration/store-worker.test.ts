/**
 * `pinhole serve` with SQLite on its worker thread (`store.thread: worker`): a server whose store
 * worker dies stops granting (UNAVAILABLE with a retry-after) and reports NOT_SERVING; by default
 * (`store.thread: main`) SQLite stays on the event-loop thread.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { crashWorkerForTests, SqliteWorkerStore } from '../../server/store/sqlite/sqlite-worker-store.js';
import { callError, hostClient, removeDir, startTestServer, type TestServer } from '../helpers/pinhole.js';
import { open, webHttps } from '../hardening/fixtures.js';
import { healthCheck, healthClient } from './ops-fixtures.js';

const servers: TestServer[] = [];
afterAll(async () => {
  for (const ts of servers) {
    await ts.close();
    removeDir(ts.dataDir);
  }
});

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The backend under the server's instrumented store (a Proxy that forwards to it). */
function backend(ts: TestServer): object {
  return ts.server.store;
}

describe('the SQLite store worker thread', () => {
  it('when it dies the server refuses to grant and turns NOT_SERVING', async () => {
    const ts = await startTestServer({
      store: { kind: 'sqlite', thread: 'worker' },
      health: { probeIntervalMs: 60_000, probeTimeoutMs: 500 },
    });
    servers.push(ts);
    const store = backend(ts);
    expect(crashWorkerForTests in store).toBe(true);
    const web = hostClient(ts.address, ts.certDir, 'web-1');
    const health = healthClient(ts.address, ts.certDir, 'host-web-1');
    try {
      expect((await open(web, webHttps('before-crash'))).decision?.outcome).toBe('GRANTED');
      expect(await healthCheck(health)).toBe('SERVING');
      await (store as SqliteWorkerStore)[crashWorkerForTests]();
      const err = await callError(open(web, webHttps('after-crash')));
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.metadata.get('pinhole-retry-after-ms')).toEqual(['1000']);
      // The failed commit probes the store at once (the interval here is a minute).
      await eventually(async () => (await healthCheck(health)) === 'NOT_SERVING');
    } finally {
      web.close();
      health.close();
    }
  });

  it('by default (store.thread main) SQLite stays on the event-loop thread', async () => {
    const ts = await startTestServer();
    servers.push(ts);
    expect(crashWorkerForTests in backend(ts)).toBe(false);
    expect(ts.server.store.kind).toBe('sqlite');
    const web = hostClient(ts.address, ts.certDir, 'web-1');
    try {
      expect((await open(web, webHttps('main-thread'))).decision?.outcome).toBe('GRANTED');
    } finally {
      web.close();
    }
  });
});
