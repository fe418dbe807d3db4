/**
 * A request flood as its own process, so the flooding client's CPU does not share an event loop
 * with the host whose latency the test measures. Bounded by count and by time.
 * Usage: node --import tsx flood-child.ts ADDRESS CERT_DIR HOST CONCURRENCY TOTAL MAX_MS
 * Prints one JSON line: {"sent":..,"ok":..,"exhausted":..,"other":..,"ms":..}
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { openingClient, readClientTls } from '../../client-sdk/wire.js';
import { dbPostgres, open } from './fixtures.js';

const [address = '', certDir = '', host = 'db-1', c = '50', t = '5000', m = '10000'] = process.argv.slice(2);
const concurrency = Number(c);
const total = Number(t);
const maxMs = Number(m);
const client = openingClient(address, readClientTls(certDir, `host-${host}`));
const started = Date.now();
const counts = { sent: 0, ok: 0, exhausted: 0, other: 0 };
let stop = false;
process.on('SIGTERM', () => {
  stop = true;
});

async function worker(w: number): Promise<void> {
  while (!stop && counts.sent < total && Date.now() - started < maxMs) {
    counts.sent++;
    try {
      await open(client, dbPostgres(`flood-${w}-${counts.sent}`));
      counts.ok++;
    } catch (e) {
      if ((e as ServiceError).code === status.RESOURCE_EXHAUSTED) counts.exhausted++;
      else counts.other++;
    }
  }
}

process.stdout.write('flood started\n');
await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
process.stdout.write(`${JSON.stringify({ ...counts, ms: Date.now() - started })}\n`);
client.close();
