/**
 * Shared by the ops suites: scraping the admin listener, reading Prometheus text, promtool, and a
 * grpc.health.v1 client.
 */
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  loadPackageDefinition,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { channelArgs, readClientTls } from '../../client-sdk/wire.js';
import { readFileSync } from '../helpers/pinhole.js';

export interface HttpsReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** GET over mTLS with `<identity>.crt/.key` from certDir (null: no client certificate). */
export function httpsGet(
  address: string,
  path: string,
  certDir: string,
  identity: string | null = 'admin-alice',
): Promise<HttpsReply> {
  const colon = address.lastIndexOf(':');
  const ca = readFileSync(join(certDir, 'ca.crt'));
  const client =
    identity === null
      ? {}
      : {
          cert: readFileSync(join(certDir, `${identity}.crt`)),
          key: readFileSync(join(certDir, `${identity}.key`)),
        };
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: address.slice(0, colon),
        port: Number(address.slice(colon + 1)),
        servername: 'localhost',
        path,
        agent: false,
        ca,
        ...client,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The value of the sample `name{labels...}` (labels: a subset that must match), or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (m?.[1] !== name) continue;
    const got = new Map(
      [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

/** `promtool check metrics` on the text; `missing` when promtool is not installed. */
export function promtoolCheck(
  text: string,
): { missing: true } | { missing: false; code: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
  return { missing: false, code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A grpc.health.v1.Health client with the given TLS files. */
export function healthClient(
  address: string,
  certDir: string,
  identity: string,
): Client & {
  check(req: { service: string }, cb: (err: ServiceError | null, res?: { status: string }) => void): void;
} {
  const def = loadSync(healthProtoPath, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = loadPackageDefinition(def);
  const grpcNs = pkg.grpc as GrpcObject;
  const healthNs = (grpcNs.health as GrpcObject).v1 as GrpcObject;
  const Health = healthNs.Health as ServiceClientConstructor;
  return new Health(...channelArgs(address, readClientTls(certDir, identity))) as unknown as ReturnType<
    typeof healthClient
  >;
}

export function healthCheck(client: ReturnType<typeof healthClient>, service = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    client.check({ service }, (err, res) => {
      if (err !== null) reject(err);
      else resolve(res?.status ?? 'UNKNOWN');
    });
  });
}
