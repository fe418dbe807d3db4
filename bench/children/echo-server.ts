/**
 * The echo baseline server as its own process (like `pinhole serve` in the decisions figure), with
 * the Pinhole server's certificate and CA and client certificates required.
 * Usage: node --import tsx echo-server.ts CERT_DIR  -> prints `listening 127.0.0.1:PORT`
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { ECHO_SERVICE, echoResponse } from '../lib/echo.js';

const certDir = process.argv[2] ?? 'certs';
const read = (name: string): Buffer => readFileSync(join(certDir, name));
const server = new Server();
server.addService(ECHO_SERVICE, {
  Echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
    callback(null, echoResponse(call.request));
  },
});
const credentials = ServerCredentials.createSsl(
  read('ca.crt'),
  [{ private_key: read('server.key'), cert_chain: read('server.crt') }],
  true,
);
server.bindAsync('127.0.0.1:0', credentials, (error, port) => {
  if (error !== null) {
    process.stderr.write(`echo-server: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening 127.0.0.1:${port}\n`);
});
process.stdin.on('end', () => process.exit(0)).resume();
