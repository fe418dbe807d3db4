/**
 * Issue 11: the standard grpc.health.v1 service reports SERVING, then NOT_SERVING while the store
 * is unavailable (probed every health.probeIntervalMs, and at once after a failed commit), and
 * NOT_SERVING from the start of shutdown; server reflection lists the Pinhole services.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  loadPackageDefinition,
  type GrpcObject,
  type ServiceClientConstructor,
  type ClientDuplexStream,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { createRootLogger } from '../../server/log.js';
import { StoreHealth } from '../../server/ops/health.js';
import { instrumentStore } from '../../server/ops/instrument-store.js';
import { PinholeError } from '../../server/core/errors.js';
import type { Store } from '../../server/store/store.js';
import { channelArgs, readClientTls } from '../../client-sdk/wire.js';
import { removeDir, startTestServer, type TestServer } from '../helpers/pinhole.js';
import { healthCheck, healthClient, httpsGet, sample } from './ops-fixtures.js';

const servers: TestServer[] = [];
afterAll(async () => {
  for (const ts of servers) {
    await ts.close();
    removeDir(ts.dataDir);
  }
});

async function start(probeIntervalMs: number): Promise<TestServer> {
  const ts = await startTestServer({ health: { probeIntervalMs, probeTimeoutMs: 500 } });
  servers.push(ts);
  return ts;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('grpc.health.v1', () => {
  it('reports SERVING, then NOT_SERVING once the store is unavailable', async () => {
    const ts = await start(100);
    const client = healthClient(ts.address, ts.certDir, 'host-web-1');
    expect(await healthCheck(client)).toBe('SERVING');
    expect(await healthCheck(client, 'pinhole.v1.Opening')).toBe('SERVING');
    expect(await healthCheck(client, 'pinhole.v1.LeaseWatch')).toBe('SERVING');
    await expect(healthCheck(client, 'no.such.Service')).rejects.toMatchObject({ code: 5 });

    await ts.server.store.close();
    await eventually(async () => (await healthCheck(client)) === 'NOT_SERVING');
    expect(await healthCheck(client, 'pinhole.v1.Opening')).toBe('NOT_SERVING');
    const metrics = await httpsGet(ts.server.adminAddress, '/metrics', ts.certDir);
    expect(sample(metrics.text, 'pinhole_store_up')).toBe(0);
    client.close();
  });

  it('probes at once when a commit fails for the store, not only at the interval', async () => {
    let up = true;
    const health = new StoreHealth({
      probe: () => (up ? Promise.resolve() : Promise.reject(new Error('disk gone'))),
      intervalMs: 60_000,
      timeoutMs: 500,
      log: createRootLogger('silent'),
    });
    const failing = {
      commit: () => Promise.reject(new PinholeError('UNAVAILABLE', 'the store could not commit')),
    } as unknown as Store;
    const observed: string[] = [];
    const store = instrumentStore(failing, {
      observe: (o) => observed.push(o),
      failed: () => {
        health.commitFailed();
      },
    });
    const changed = new Promise<string>((resolve) => health.onChange(resolve));
    up = false;
    await expect(store.commit({ audit: [] })).rejects.toThrow('could not commit');
    expect(await changed).toBe('NOT_SERVING');
    expect(observed).toEqual(['error']);
    await health.close();
  });

  it('turns NOT_SERVING at shutdown and ends health Watch streams instead of waiting for them', async () => {
    const ts = await startTestServer({ shutdown: { graceMs: 30_000 } });
    const client = healthClient(ts.address, ts.certDir, 'host-web-1');
    const watch = (
      client as unknown as { watch(req: { service: string }): NodeJS.EventEmitter & { cancel(): void } }
    ).watch({ service: '' });
    const statuses: string[] = [];
    const ended = new Promise<number>((resolve) =>
      watch.on('error', (e: { code: number }) => {
        resolve(e.code);
      }),
    );
    watch.on('data', (m: { status: string }) => statuses.push(m.status));
    await eventually(() => Promise.resolve(statuses.includes('SERVING')));
    const started = Date.now();
    await ts.close();
    expect(Date.now() - started).toBeLessThan(5000); // not the 30 s grace
    expect(await ended).toBe(14); // UNAVAILABLE
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    client.close();
    removeDir(ts.dataDir);
  });
});

describe('server reflection', () => {
  it('lists the Pinhole services', async () => {
    const ts = await start(1000);
    const require = createRequire(import.meta.url);
    const protoFile = join(
      require.resolve('@grpc/reflection/package.json'),
      '..',
      'build',
      'proto',
      'grpc',
      'reflection',
      'v1',
      'reflection.proto',
    );
    const pkg = loadPackageDefinition(loadSync(protoFile, { keepCase: true, defaults: true, oneofs: true }));
    const ns = ((pkg.grpc as GrpcObject).reflection as GrpcObject).v1 as GrpcObject;
    const Reflection = ns.ServerReflection as ServiceClientConstructor;
    const client = new Reflection(...channelArgs(ts.address, readClientTls(ts.certDir, 'host-web-1')));
    const call = (
      client as unknown as {
        ServerReflectionInfo(): ClientDuplexStream<
          object,
          { list_services_response?: { service: { name: string }[] } }
        >;
      }
    ).ServerReflectionInfo();
    const reply = new Promise<string[]>((resolve, reject) => {
      call.on('data', (m: { list_services_response?: { service: { name: string }[] } }) => {
        resolve((m.list_services_response?.service ?? []).map((s) => s.name));
      });
      call.on('error', reject);
    });
    call.write({ list_services: '' });
    const names = await reply;
    call.end();
    client.close();
    expect(names).toEqual(
      expect.arrayContaining(['pinhole.v1.Opening', 'pinhole.v1.LeaseWatch', 'pinhole.v1.Admin']),
    );
  });
});
