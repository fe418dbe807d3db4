/**
 * COUNT lease-stream subscribers in one process, each on its own connection (a local subchannel
 * pool per client: grpc-js would otherwise share one HTTP/2 connection between identical clients),
 * as firewalls would be. Records when each live UPSERT arrives (wall clock, sub-ms) and prints the
 * records on `dump`. Being a separate process, it can be stalled for real with SIGSTOP.
 *
 * Usage: node --import tsx watch-subscribers.ts ADDRESS CERT_DIR IDENTITY COUNT FROM_REVISION
 * Prints `ready` once every stream caught up (first PROGRESS), `snapshot EVENTS MS` when a stream
 * from revision 0 has its snapshot, `error SUB CODE EVENTS DETAILS` when a stream fails.
 * Reads commands on stdin: `dump` prints `dump [[leaseId, sub, wallMs], ...]` (and forgets them);
 * `reset COUNT FROM_REVISION` replaces every stream with COUNT new ones (then `ready` again);
 * `quit` (or the end of stdin) exits.
 */
import { createInterface } from 'node:readline';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { readClientTls, watchClient, type LeaseWatchClient } from '../../client-sdk/wire.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';

const [address = '', certDir = '', identity = '', countText = '1', fromText = '0'] = process.argv.slice(2);
const tls = readClientTls(certDir, identity);
const wallMs = (): number => performance.timeOrigin + performance.now();

let streams: { client: LeaseWatchClient; stream: ClientReadableStream<WatchEvent__Output> }[] = [];
let received: [string, number, number][] = [];
let generation = 0;

function open(count: number, fromRevision: string): void {
  for (const s of streams) {
    s.stream.cancel();
    s.client.close();
  }
  streams = [];
  received = [];
  const gen = ++generation;
  const started = performance.now();
  let ready = 0;
  for (let sub = 0; sub < count; sub++) {
    const client = watchClient(address, tls, { 'grpc.use_local_subchannel_pool': 1 });
    const stream = client.Watch({ fromRevision, scope: { hosts: [], groups: [] } });
    streams.push({ client, stream });
    let caughtUp = false;
    let events = 0;
    stream.on('data', (e: WatchEvent__Output) => {
      if (gen !== generation) return;
      events++;
      if (e.type === 'UPSERT' && !e.snapshot) received.push([e.leaseId, sub, wallMs()]);
      if (e.type === 'PROGRESS' && !caughtUp) {
        caughtUp = true;
        if (fromRevision === '0') {
          process.stdout.write(`snapshot ${events} ${(performance.now() - started).toFixed(0)}\n`);
        }
        if (++ready === count) process.stdout.write('ready\n');
      }
    });
    stream.on('error', (e: ServiceError) => {
      if (gen !== generation || e.code === status.CANCELLED) return;
      process.stdout.write(`error ${sub} ${e.code} ${events} ${e.details.replace(/\s+/g, ' ')}\n`);
    });
  }
}

function quit(): void {
  for (const s of streams) s.client.close();
  process.exit(0);
}

open(Number(countText), fromText);
createInterface({ input: process.stdin })
  .on('line', (line) => {
    const [command = '', ...args] = line.split(' ');
    if (command === 'quit') quit();
    else if (command === 'reset') open(Number(args[0] ?? '1'), args[1] ?? '0');
    else if (command === 'dump') {
      process.stdout.write(`dump ${JSON.stringify(received)}\n`);
      received = [];
    }
  })
  .on('close', quit);
