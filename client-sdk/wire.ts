/**
 * The wire contract on the client side: loads proto/pinhole/v1 and builds mTLS clients.
 * Independent of server/ so that hosts and firewalls ship only client-sdk/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { fileURLToPath } from 'node:url';
import {
  credentials,
  experimental,
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

/**
 * Channel credentials that trust only the Pinhole CA (never the system roots). They check the
 * server certificate against the target's host, sent as the TLS server name too: an IP target
 * makes Node warn (DEP0123) on every connection. Clients dial with {@link channelArgs} instead.
 */
export function channelCredentials(tls: ClientTls): ChannelCredentials {
  return credentials.createSsl(tls.ca, tls.key, tls.cert);
}

/**
 * The TLS server name (SNI) a client sends when it dials the server by IP address. grpc-js would
 * send the address, which RFC 6066 forbids and Node warns about on every connection (DEP0123);
 * the server ignores SNI, so any DNS name does. It is never what the certificate is checked against.
 */
export const IP_TARGET_SERVER_NAME = 'pinhole-server';

/** What a grpc-js client constructor takes: target, credentials, channel options. */
export type ChannelArgs = [target: string, credentials: ChannelCredentials, options: ChannelOptions];

/**
 * How every SDK client dials `address` over mTLS: trusting only the Pinhole CA, and requiring
 * the server certificate to name the dialed address (an IP SAN for an IP, a DNS SAN for a name),
 * or the name given as `grpc.ssl_target_name_override` (the agent's `--server-name`), as Node's
 * `tls.checkServerIdentity` judges it. When the address is an IP and no name is given, the SNI is
 * {@link IP_TARGET_SERVER_NAME} and the check still runs against the IP, so the warning goes and
 * the verification is the one clients always made.
 */
export function channelArgs(address: string, tls: ClientTls, options: ChannelOptions = {}): ChannelArgs {
  const ip = ipTarget(address);
  if (ip === undefined || options['grpc.ssl_target_name_override'] !== undefined) {
    return [address, channelCredentials(tls), options];
  }
  // grpc-js hands the check the override name; the certificate must name the address dialed.
  const verify = {
    checkServerIdentity: (_sni: string, cert: PeerCertificate) => checkServerIdentity(ip, cert),
  };
  return [
    address,
    credentials.createSsl(tls.ca, tls.key, tls.cert, verify),
    { ...options, 'grpc.ssl_target_name_override': IP_TARGET_SERVER_NAME },
  ];
}

/**
 * The IP address of a `host:port` or `[v6]:port` target, split as grpc-js splits it for the TLS
 * server name. Anything else (a DNS name, a URI with a scheme) keeps grpc-js's own handling.
 */
function ipTarget(address: string): string | undefined {
  const host = experimental.splitHostPort(address)?.host;
  return host !== undefined && isIP(host) !== 0 ? host : undefined;
}

const DEFAULT_OPTIONS: ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
};

export function openingClient(address: string, tls: ClientTls, options: ChannelOptions = {}): OpeningClient {
  return new (proto().pinhole.v1.Opening)(...channelArgs(address, tls, { ...DEFAULT_OPTIONS, ...options }));
}

export function watchClient(address: string, tls: ClientTls, options: ChannelOptions = {}): LeaseWatchClient {
  return new (proto().pinhole.v1.LeaseWatch)(
    ...channelArgs(address, tls, { ...DEFAULT_OPTIONS, ...options }),
  );
}

export function adminClient(address: string, tls: ClientTls, options: ChannelOptions = {}): AdminClient {
  return new (proto().pinhole.v1.Admin)(...channelArgs(address, tls, { ...DEFAULT_OPTIONS, ...options }));
}
