/** Typed, promise-returning Opening calls for the figures. */
import { readClientTls } from '../../client-sdk/wire.js';
import { openingClient, type OpeningClient } from '../../client-sdk/wire.js';
import { unaryCall } from '../../test/helpers/pinhole.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import type { ReleaseResponse__Output } from '../../proto/gen/pinhole/v1/ReleaseResponse.js';
import type { RenewResponse__Output } from '../../proto/gen/pinhole/v1/RenewResponse.js';

/** web-1 (198.18.0.2) in the dev PKI; the example policy grants it tcp/443 from any source (web-public). */
export function webClient(address: string, certDir: string): OpeningClient {
  return openingClient(address, readClientTls(certDir, 'host-web-1'));
}

/** The n-th distinct /32 source in 198.19.0.0/16 (the benchmark range), so every lease has its own element. */
export const benchSource = (n: number): string => `198.19.${(n >> 8) & 255}.${n & 255}/32`;

/** An Open of tcp/443 from one /32; `web-public` grants it. */
export function openRequest(requestId: string, source: string, ttlSeconds = 60): OpenRequest {
  return {
    requestId,
    openings: [{ ports: { protocol: 'TCP', from: 443, to: 443 }, sources: [{ cidr: source }] }],
    requestedTtlSeconds: ttlSeconds,
  };
}

export async function open(client: OpeningClient, request: OpenRequest): Promise<OpenResponse__Output> {
  const answer = await unaryCall(client, client.Open, request);
  if (answer.lease == null)
    throw new Error(`Open ${request.requestId ?? ''}: ${answer.decision?.outcome ?? '?'}`);
  return answer;
}

export const release = (client: OpeningClient, leaseId: string): Promise<ReleaseResponse__Output> =>
  unaryCall(client, client.Release, { leaseId });

export const renew = (
  client: OpeningClient,
  leaseId: string,
  requestedTtlSeconds = 60,
): Promise<RenewResponse__Output> => unaryCall(client, client.Renew, { leaseId, requestedTtlSeconds });
