/**
 * Issue 10, transport: idle connections are closed (`limits.maxConnectionIdleMs`) while a
 * connection carrying a lease stream is kept, and a peer that stops answering the server's
 * keepalive pings (`limits.keepaliveTimeMs`/`keepaliveTimeoutMs`) is disconnected, which ends its
 * lease stream and frees its stream quota. The stalled peer is a real process under SIGSTOP: its
 * kernel still acknowledges TCP, only its HTTP/2 stops answering.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { connectivityState, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { readClientTls, watchClient } from '../../client-sdk/wire.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';
import {
  hostClient,
  removeDir,
  spawnWatchSubscriber,
  startTestServer,
  unaryCall,
  type TestServer,
} from '../helpers/pinhole.js';
import { sleep } from './fixtures.js';

const ALL = { fromRevision: '0', scope: { hosts: [], groups: [] } };

/** Resolves with the channel's next state other than `from`, or rejects after `withinMs`. */
function nextState(client: Client, from: connectivityState, withinMs: number): Promise<connectivityState> {
  const channel = client.getChannel();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const now = channel.getConnectivityState(false);
      if (now !== from) {
        resolve(now);
        return;
      }
      channel.watchConnectivityState(now, Date.now() + withinMs, (err) => {
        if (err === undefined) check();
        else reject(new Error(`channel stayed ${connectivityState[from]} for ${withinMs} ms`));
      });
    };
    check();
  });
}

/** The first event of a Watch as firewall gw-1, or the status that refused it. */
async function firstWatchAnswer(ts: TestServer): Promise<'event' | number> {
  const client = watchClient(ts.address, readClientTls(ts.certDir, 'firewall-gw-1'));
  try {
    const stream = client.Watch(ALL);
    const answer = await new Promise<'event' | number>((resolve) => {
      stream.once('data', () => {
        resolve('event');
      });
      stream.once('error', (e: ServiceError) => {
        resolve(e.code);
      });
    });
    stream.cancel();
    stream.on('error', () => undefined);
    return answer;
  } finally {
    client.close();
  }
}

let ts: TestServer | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  await ts?.close();
  if (ts !== undefined) removeDir(ts.dataDir);
  ts = undefined;
});

describe('limits.maxConnectionIdleMs', () => {
  it('closes a connection without calls, keeps one with a lease stream, and a client reconnects', async () => {
    ts = await startTestServer({ limits: { maxConnectionIdleMs: 300 } });
    const web = hostClient(ts.address, ts.certDir, 'web-1');
    const fw = watchClient(ts.address, readClientTls(ts.certDir, 'firewall-gw-1'));
    try {
      await unaryCall(web, web.ListMine, {});
      expect(web.getChannel().getConnectivityState(false)).toBe(connectivityState.READY);
      const stream = fw.Watch(ALL);
      let ended: string | undefined;
      stream.on('error', (e: ServiceError) => (ended = `${e.code} ${e.details}`));
      stream.on('end', () => (ended = 'end'));
      await new Promise<WatchEvent__Output>((resolve) => stream.once('data', resolve));

      // The idle host connection gets GOAWAY: the channel leaves READY for IDLE, not a failure.
      expect(await nextState(web, connectivityState.READY, 10_000)).toBe(connectivityState.IDLE);
      // The lease stream's connection is busy, so it outlives many idle periods.
      await sleep(1500);
      expect(ended).toBeUndefined();
      expect(fw.getChannel().getConnectivityState(false)).toBe(connectivityState.READY);
      // The next call reconnects.
      const mine = await unaryCall(web, web.ListMine, {});
      expect(mine.leases).toEqual([]);
      stream.cancel();
    } finally {
      web.close();
      fw.close();
    }
  });
});

describe('keepalive (limits.keepaliveTimeMs / keepaliveTimeoutMs)', () => {
  it('a peer that stops answering pings is disconnected: its lease stream ends and its quota is freed', async () => {
    ts = await startTestServer({
      limits: { keepaliveTimeMs: 300, keepaliveTimeoutMs: 500, maxWatchStreamsPerFirewall: 1 },
    });
    const sub = spawnWatchSubscriber(ts.address, ts.certDir, 'firewall-gw-1');
    const subscriber = sub.child;
    child = subscriber;
    while (!sub.output().includes('event ')) {
      expect(subscriber.exitCode).toBeNull();
      await sleep(20);
    }
    // Answering pings, the subscriber keeps its stream through several keepalive periods, and
    // holds gw-1's only stream slot.
    await sleep(1500);
    expect(sub.output()).not.toContain('status ');
    expect(await firstWatchAnswer(ts)).toBe(status.RESOURCE_EXHAUSTED);

    subscriber.kill('SIGSTOP');
    // Within a few keepalive periods the server drops the silent peer, and the slot is free again.
    let answer: 'event' | number = status.RESOURCE_EXHAUSTED;
    for (let i = 0; i < 100 && answer === status.RESOURCE_EXHAUSTED; i++) {
      await sleep(100);
      answer = await firstWatchAnswer(ts);
    }
    expect(answer).toBe('event');
    // Woken, the subscriber finds its stream gone (the connection was closed under it).
    subscriber.kill('SIGCONT');
    for (let i = 0; i < 100 && !sub.output().includes('status '); i++) await sleep(50);
    expect(sub.output()).toMatch(/status (14|1|13) /); // UNAVAILABLE, CANCELLED or INTERNAL: the connection died
  }, 60_000);
});
