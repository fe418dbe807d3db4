/** The Opening service constructor, for tests that need a client with unusual credentials. */
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { join } from 'node:path';
import type { ProtoGrpcType } from '../../proto/gen/opening.js';
import { REPO } from './pinhole.js';

export function rawOpening(): ProtoGrpcType['pinhole']['v1'] {
  const def = loadSync('pinhole/v1/opening.proto', {
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [join(REPO, 'proto')],
  });
  return (loadPackageDefinition(def) as unknown as ProtoGrpcType).pinhole.v1;
}
