/**
 * A small TCP service that asks Pinhole to open its port before it listens, keeps the opening
 * while it runs, and releases it on exit. Every connection gets one greeting line.
 *
 *   node --import tsx examples/service.ts --server 127.0.0.1:7443 --certs certs --identity host-web-1 \
 *     --port 5432 --from 198.18.1.0/24 --ttl 10m
 *
 * Add `--wait realized` to start listening only once the firewalls applied the opening.
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { createClient, type ClientLogger } from '../client-sdk/index.js';

const { values: args } = parseArgs({
  options: {
    server: { type: 'string', default: '127.0.0.1:7443' },
    certs: { type: 'string', default: 'certs' },
    identity: { type: 'string', default: 'host-web-1' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '5432' },
    from: { type: 'string', multiple: true, default: ['198.18.1.0/24'] },
    ttl: { type: 'string', default: '10m' },
    wait: { type: 'string', default: 'granted' },
  },
});

const log: ClientLogger = {
  debug: () => undefined,
  info: (fields, message) => {
    console.error(`pinhole: ${message}`, fields);
  },
  warn: (fields, message) => {
    console.error(`pinhole: ${message}`, fields);
  },
  error: (fields, message) => {
    console.error(`pinhole: ${message}`, fields);
  },
};

// releaseOnExit: on SIGINT/SIGTERM the SDK releases the lease, then the signal ends the process.
const pinhole = createClient({
  server: args.server,
  certDir: args.certs,
  identity: args.identity,
  logger: log,
  releaseOnExit: true,
});

const port = Number(args.port);
const opening = await pinhole.open({
  ports: `tcp/${port}`,
  from: args.from,
  ttl: args.ttl,
  description: `example service on tcp/${port}`,
  waitFor: args.wait === 'realized' ? 'realized' : 'granted',
});
console.log(`opened ${opening.leaseId}: ${opening.decision.outcome} by rule ${opening.decision.ruleId}`);

opening.on('reopened', (e) => {
  console.log(`re-opened (${e.why}) as ${e.lease.id}`);
});
opening.on('lost', (e) => {
  console.error(`lease ${e.leaseId} lost; the SDK keeps trying to re-open`);
});
opening.on('error', (e) => {
  console.error(`renewal trouble (${e.code}): ${e.message}`);
});

const server = createServer((socket) => {
  socket.end(`hello from ${args.identity} (lease ${opening.leaseId})\n`);
});

opening.on('revoked', (e) => {
  // The firewall has closed the port: stop serving, which lets the process exit.
  console.error(`opening revoked by ${e.by}: ${e.reason}; shutting down`);
  server.close();
  void pinhole.close();
});

server.listen(port, args.host, () => {
  console.log(`listening on ${args.host}:${port}`);
});
