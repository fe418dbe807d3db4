/**
 * The wire contract on the client side: loads proto/pinhole/v1 and builds mTLS clients.
 * Independent of server/ so that hosts and firewalls ship only client-sdk/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  credentials,
  loadPackageDefinition,
  type ChannelCredentials,
  type ChannelOptions,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { ProtoGrpcType as OpeningProto } from '../proto/gen/opening.js';
import type { ProtoGrpcType as WatchProto } from '../proto/gen/watch.js';
import type { ProtoGrpcType as AdminProto } from '../proto/gen/admin.js';
import type { OpeningClient } from '../proto/gen/pinhole/v1/Opening.js';
import type { LeaseWatchClient } from '../proto/gen/pinhole/v1/LeaseWatch.js';
import type { AdminClient } from '../proto/gen/pinhole/v1/Admin.js';

export type { OpeningClient, LeaseWatchClient, AdminClient };

type PinholeProto = OpeningProto & WatchProto & AdminProto;
let cached: PinholeProto | undefined;

function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'proto', 'pinhole', 'v1', 'types.proto'))) return join(dir, 'proto');
    dir = dirname(dir);
  }
  throw new Error(`proto/pinhole/v1 not found above ${fileURLToPath(import.meta.url)}`);
}

function proto(): PinholeProto {
  cached ??= loadPackageDefinition(
    loadSync(['pinhole/v1/opening.proto', 'pinhole/v1/watch.proto', 'pinhole/v1/admin.proto'], {
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      includeDirs: [protoDir()],
    }),
  ) as unknown as PinholeProto;
  return cached;
}

/** PEM material for an mTLS client. */
export interface ClientTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads `<base>.crt`, `<base>.key` and `ca.crt` from a certificate directory as written by
 * `pinhole certs init` (e.g. base `host-web-1`).
 */
export function readClientTls(certDir: string, base: string): ClientTls {
  return {
    ca: readFileSync(join(certDir, 'ca.crt')),
    cert: readFileSync(join(certDir, `${base}.crt`)),
    key: readFileSync(join(certDir, `${base}.key`)),
  };
}

/** Channel credentials that trust only the Pinhole CA (never the system roots). */
export function channelCredentials(tls: ClientTls): ChannelCredentials {
  return credentials.createSsl(tls.ca, tls.key, tls.cert);
}

const DEFAULT_OPTIONS: ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
};

export function openingClient(address: string, tls: ClientTls, options: ChannelOptions = {}): OpeningClient {
  return new (proto().pinhole.v1.Opening)(address, channelCredentials(tls), {
    ...DEFAULT_OPTIONS,
    ...options,
  });
}

export function watchClient(address: string, tls: ClientTls, options: ChannelOptions = {}): LeaseWatchClient {
  return new (proto().pinhole.v1.LeaseWatch)(address, channelCredentials(tls), {
    ...DEFAULT_OPTIONS,
    ...options,
  });
}

export function adminClient(address: string, tls: ClientTls, options: ChannelOptions = {}): AdminClient {
  return new (proto().pinhole.v1.Admin)(address, channelCredentials(tls), { ...DEFAULT_OPTIONS, ...options });
}
