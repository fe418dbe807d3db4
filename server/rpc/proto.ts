/** Loads the wire contract once. Options match `npm run generate` (proto-loader-gen-types). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import type { ProtoGrpcType as OpeningProto } from '../../proto/gen/opening.js';
import type { ProtoGrpcType as WatchProto } from '../../proto/gen/watch.js';
import type { ProtoGrpcType as AdminProto } from '../../proto/gen/admin.js';

export const LOADER_OPTIONS: Options = { longs: String, enums: String, defaults: true, oneofs: true };

/** The proto/ folder, found from source (server/rpc) or build output (dist/server/rpc). */
export function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'proto', 'pinhole', 'v1', 'types.proto'))) return join(dir, 'proto');
    dir = dirname(dir);
  }
  throw new Error('proto/pinhole/v1 not found above ' + fileURLToPath(import.meta.url));
}

export type PinholeProto = OpeningProto & WatchProto & AdminProto;

let cached: PinholeProto | undefined;

export function loadPinholeProto(): PinholeProto {
  if (cached !== undefined) return cached;
  const root = protoRoot();
  const definition = loadSync(
    ['pinhole/v1/opening.proto', 'pinhole/v1/watch.proto', 'pinhole/v1/admin.proto'],
    {
      ...LOADER_OPTIONS,
      includeDirs: [root],
    },
  );
  cached = loadPackageDefinition(definition) as unknown as PinholeProto;
  return cached;
}
