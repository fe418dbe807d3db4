/** Turns a granting decision into a lease (and signs its receipt). */
import type { CertificateRef, Decision, Lease, OpenRequest } from '../core/types.js';
import { newId } from './ids.js';

/** Signs a compact JWS receipt over a lease (see server/identity/receipts.ts). */
export interface ReceiptSigner {
  sign(lease: Lease): Promise<string>;
}

export function buildLease(
  host: string,
  request: OpenRequest,
  decision: Decision,
  nowMs: number,
  openedBy: CertificateRef | undefined,
): Lease {
  const maxLifetimeEndsAtMs = nowMs + decision.maxLifetimeSeconds * 1000;
  return {
    id: newId('lse', nowMs),
    host,
    requestId: request.requestId,
    rules: decision.rules,
    ttlSeconds: decision.ttlSeconds,
    grantedAtMs: nowMs,
    expiresAtMs: Math.min(nowMs + decision.ttlSeconds * 1000, maxLifetimeEndsAtMs),
    maxLifetimeEndsAtMs,
    renewedAtMs: 0,
    revision: 0,
    state: 'granted',
    ruleId: decision.ruleId,
    description: request.description,
    receipt: '',
    ...(openedBy === undefined ? {} : { openedBy }),
  };
}

export async function signLease(lease: Lease, signer: ReceiptSigner | undefined): Promise<Lease> {
  return signer === undefined ? lease : { ...lease, receipt: await signer.sign(lease) };
}
