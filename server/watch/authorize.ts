/** Which leases a firewall may watch: the scope policy gives it, narrowed by what it asks. */
import { PinholeError } from '../core/errors.js';
import type { Lease } from '../core/types.js';
import type { EnforcerScope, HostDirectory, PolicyEvaluator } from '../policy/api.js';
import type { Caller } from '../lease/caller.js';
import { requireRole } from '../lease/caller.js';

export interface RequestedScope {
  readonly hosts: readonly string[];
  readonly groups: readonly string[];
}

/** Returns a filter for the leases `caller` may watch, or PERMISSION_DENIED naming what it may not. */
export function authorizeWatch(
  caller: Caller,
  requested: RequestedScope,
  policy: () => PolicyEvaluator,
  directory: HostDirectory,
): { scope: EnforcerScope; inScope: (lease: Lease) => boolean } {
  requireRole(caller, 'firewall', 'Watch');
  const name = caller.identity.name;
  const allowed = policy().enforcerScope(name);
  if (allowed === undefined) {
    throw new PinholeError(
      'PERMISSION_DENIED',
      `firewall ${name} is not listed under enforcers: in policy; ask the policy owners to add it`,
    );
  }
  if (!allowed.all) {
    requested.hosts.forEach((h, i) => {
      if (!allowed.hosts.includes(h)) {
        throw new PinholeError(
          'PERMISSION_DENIED',
          `scope.hosts[${i}]: firewall ${name} may not watch host ${h}; its scope is ${describe(allowed)}`,
          {
            field: `scope.hosts[${i}]`,
          },
        );
      }
    });
    requested.groups.forEach((g, i) => {
      if (!allowed.groups.includes(g)) {
        throw new PinholeError(
          'PERMISSION_DENIED',
          `scope.groups[${i}]: firewall ${name} may not watch group ${g}; its scope is ${describe(allowed)}`,
          {
            field: `scope.groups[${i}]`,
          },
        );
      }
    });
  }
  const asked = requested.hosts.length > 0 || requested.groups.length > 0;
  const scope: EnforcerScope = asked
    ? { all: false, hosts: requested.hosts, groups: requested.groups }
    : allowed;
  // Policy is read per event so that a reload narrows a live stream at once.
  return { scope, inScope: (lease) => policy().inScope(scope, lease.host, lease.rules, directory) };
}

function describe(s: EnforcerScope): string {
  const parts = [...s.hosts.map((h) => `host ${h}`), ...s.groups.map((g) => `group ${g}`)];
  return parts.length > 0 ? parts.join(', ') : 'empty';
}
