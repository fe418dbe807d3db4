import { PinholeError } from '../core/errors.js';
import type { CertificateRef, Identity, Role } from '../core/types.js';

/** An authenticated caller and where it called from. */
export interface Caller {
  readonly identity: Identity;
  /** Peer address as the transport saw it, e.g. `127.0.0.1:50412`. */
  readonly peer: string;
  /** The client certificate of the call; leases it opens remember it (see Lease.openedBy). */
  readonly certificate?: CertificateRef;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

export function actorOf(caller: Caller): string {
  return `${caller.identity.role}/${caller.identity.name}`;
}

/** Refuses callers whose certificate role is not `role`. */
export function requireRole(caller: Caller, role: Role, what: string): void {
  if (caller.identity.role !== role) {
    throw new PinholeError(
      'PERMISSION_DENIED',
      `${what} needs ${article(role)} ${role} certificate; ${actorOf(caller)} presented ${article(caller.identity.role)} ${caller.identity.role} certificate`,
    );
  }
}
