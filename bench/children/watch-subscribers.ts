/**
 * COUNT lease-stream subscribers in one process, each on its own connection (a local subchannel
 * pool per client: grpc-js would otherwise share one HTTP/2 connection between identical clients),
 * as firewalls would be. Records when each live UPSERT arrives (wall clock, sub-ms) and prints the
 * records on `dump`. Being a separate process, it can be stalled for real with SIGSTOP.
 *
 * Usage: node --import tsx watch-subscribers.ts ADDRESS CERT_DIR IDENTITY COUNT FROM_REVISION
 * Prints `ready` once every stream caught up (first PROGRESS), `snapshot EVENTS MS` when a stream
 * from revision 0 has its snapshot, `error SUB CODE DETAILS` when a stream fails, and on stdin
 * `dump` prints `dump [[leaseId, sub, wallMs], ...]` (and forgets them).
 */
import { createInterface } from 'node:readline';
import { status, type ServiceError } from '@grpc/grpc-js';
import { readClientTls, watchClient, type LeaseWatchClient } from '../../client-sdk/wire.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';

const [address = '', certDir = '', identity = '', countText = '1', fromRevision = '0'] =
  process.argv.slice(2);
const count = Number(countText);
const tls = readClientTls(certDir, identity);
const wallMs = (): number => performance.timeOrigin + performance.now();

const clients: LeaseWatchClient[] = [];
let received: [string, number, number][] = [];
let ready = 0;
const started = performance.now();

for (let sub = 0; sub < count; sub++) {
  const client = watchClient(address, tls, { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(client);
  let caughtUp = false;
  let events = 0;
  const stream = client.Watch({ fromRevision, scope: { hosts: [], groups: [] } });
  stream.on('data', (e: WatchEvent__Output) => {
    events++;
    if (e.type === 'UPSERT' && !e.snapshot) received.push([e.leaseId, sub, wallMs()]);
    if (e.type === 'PROGRESS' && !caughtUp) {
      caughtUp = true;
      if (fromRevision === '0')
        process.stdout.write(`snapshot ${events} ${(performance.now() - started).toFixed(0)}\n`);
      if (++ready === count) process.stdout.write('ready\n');
    }
  });
  stream.on('error', (e: ServiceError) => {
    if (e.code === status.CANCELLED) return; // cancelled by us
    process.stdout.write(`error ${sub} ${e.code} ${events} ${e.details.replace(/\s+/g, ' ')}\n`);
  });
}

function quit(): void {
  for (const c of clients) c.close();
  process.exit(0);
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line === 'quit') quit();
    if (line === 'dump') {
      process.stdout.write(`dump ${JSON.stringify(received)}\n`);
      received = [];
    }
  })
  .on('close', quit);
