/**
 * A lease-stream subscriber as its own process, so a test can stall it for real (SIGSTOP):
 * a stopped process stops reading its socket, HTTP/2 flow control closes the window, and the
 * server has to queue. Prints `event <type> <revision>` per event and `status <code> <details>`
 * when the stream ends.
 * Usage: node --import tsx watch-subscriber.ts ADDRESS CERT_DIR IDENTITY
 */
import { watchClient, readClientTls } from '../../client-sdk/wire.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';
import type { ServiceError } from '@grpc/grpc-js';

const [address = '', certDir = '', identity = ''] = process.argv.slice(2);
const client = watchClient(address, readClientTls(certDir, identity));
const stream = client.Watch({ fromRevision: '0', scope: { hosts: [], groups: [] } });
stream.on('data', (e: WatchEvent__Output) => process.stdout.write(`event ${e.type} ${e.revision}\n`));
stream.on('error', (e: ServiceError) => {
  process.stdout.write(`status ${e.code} ${e.details}\n`);
  client.close();
});
