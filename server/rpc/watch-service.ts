/**
 * gRPC handlers of pinhole.v1.LeaseWatch. Watch pumps the hub's subscription into the stream
 * and waits for 'drain' when the transport pushes back, so a slow reader fills only its own
 * bounded queue and is then cut with RESOURCE_EXHAUSTED.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { LeaseWatchHandlers } from '../../proto/gen/pinhole/v1/LeaseWatch.js';
import type { WatchRequest__Output } from '../../proto/gen/pinhole/v1/WatchRequest.js';
import type { WatchEvent } from '../../proto/gen/pinhole/v1/WatchEvent.js';
import { invalid } from '../core/errors.js';
import type { PolicyEvaluator } from '../policy/api.js';
import type { HostDirectoryCache } from '../lease/host-directory.js';
import { requireRole, type Caller } from '../lease/caller.js';
import type { AuditInput } from '../audit/record.js';
import type { WatchHub } from '../watch/hub.js';
import type { WatchItem } from '../watch/events.js';
import { authorizeWatch } from '../watch/authorize.js';
import type { EnforcerRegistry } from '../watch/enforcer-registry.js';
import type { StreamQuota } from '../limits/quotas.js';
import { encodeEndReason, encodeLease } from './codec.js';
import { serverStream, unary, type HandlerContext } from './handler.js';
import { guardStream } from './stream-guard.js';
import { LIMITS, NAME_PATTERN } from './limits.js';

export interface WatchDeps {
  readonly hub: WatchHub;
  readonly registry: EnforcerRegistry;
  readonly policy: () => PolicyEvaluator;
  readonly directory: HostDirectoryCache;
  readonly epoch: () => string;
  /** Writes audit records (enforcer status changes). */
  readonly audit: (records: readonly AuditInput[]) => Promise<void>;
  /** Open lease streams per identity (limits.maxWatchStreamsPerFirewall); unlimited when absent. */
  readonly streams?: StreamQuota;
}

function encodeItem(item: WatchItem, epoch: string): WatchEvent {
  const revision = String(item.revision);
  switch (item.type) {
    case 'UPSERT':
      return {
        type: 'UPSERT',
        revision,
        lease: encodeLease(item.lease, epoch),
        leaseId: item.lease.id,
        snapshot: item.snapshot,
        serverEpoch: epoch,
      };
    case 'DELETE':
      return {
        type: 'DELETE',
        revision,
        lease: encodeLease(item.lease, epoch),
        leaseId: item.lease.id,
        reason: encodeEndReason(item.reason),
        serverEpoch: epoch,
      };
    case 'PROGRESS':
    case 'RESET':
      return { type: item.type, revision, serverEpoch: epoch };
  }
}

function decodeNames(values: readonly string[], field: string, max: number): string[] {
  if (values.length > max) throw invalid(field, `has ${values.length} entries; send at most ${max}`);
  return values.map((v, i) => {
    if (v.length === 0 || v.length > LIMITS.nameMax || !NAME_PATTERN.test(v)) {
      throw invalid(
        `${field}[${i}]`,
        `${JSON.stringify(v.slice(0, 80))} is not a name; use 1-128 characters of [A-Za-z0-9._-]`,
      );
    }
    return v;
  });
}

function decodeRevision(text: string, field: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0)
    throw invalid(field, `${JSON.stringify(text)} is not a revision; use 0 or a revision this server sent`);
  return n;
}

/** Pumps until the hub ends, the client cancels, or `ended` rejects (the certificate expired or was revoked). */
async function pump(
  call: ServerWritableStream<WatchRequest__Output, WatchEvent>,
  items: AsyncIterableIterator<WatchItem>,
  epoch: () => string,
  ended: Promise<never>,
): Promise<number> {
  let sent = 0;
  const cancelled = new Promise<'cancelled'>((resolve) =>
    call.once('cancelled', () => {
      resolve('cancelled');
    }),
  );
  try {
    for (;;) {
      const next = await Promise.race([items.next(), cancelled, ended]);
      if (next === 'cancelled' || next.done === true) return sent;
      sent++;
      if (!call.write(encodeItem(next.value, epoch()))) {
        const drained = await Promise.race([
          new Promise<'drain'>((resolve) =>
            call.once('drain', () => {
              resolve('drain');
            }),
          ),
          cancelled,
          ended,
        ]);
        if (drained === 'cancelled') return sent;
      }
    }
  } finally {
    await items.return?.();
  }
}

export function watchService(ctx: HandlerContext, deps: WatchDeps): LeaseWatchHandlers {
  return {
    Watch: serverStream(ctx, 'Watch', async (caller: Caller, req, call) => {
      const hosts = decodeNames(req.scope?.hosts ?? [], 'scope.hosts', 1024);
      const groups = decodeNames(req.scope?.groups ?? [], 'scope.groups', 128);
      const fromRevision = decodeRevision(req.fromRevision, 'from_revision');
      const { inScope } = authorizeWatch(caller, { hosts, groups }, deps.policy, deps.directory);
      const releaseSlot = deps.streams?.acquire(`${caller.identity.role}/${caller.identity.name}`);
      const guard = guardStream(ctx, call);
      try {
        const sub = await deps.hub.subscribe({ fromRevision, inScope });
        const sent = await pump(call, sub, deps.epoch, guard.ended);
        return { fromRevision, sent };
      } finally {
        guard.dispose();
        releaseSlot?.();
      }
    }),
    ReportStatus: unary(ctx, 'ReportStatus', async (caller, req) => {
      requireRole(caller, 'firewall', 'ReportStatus');
      const changes = deps.registry.report(caller.identity.name, {
        appliedRevision: decodeRevision(req.appliedRevision, 'applied_revision'),
        error: req.error.slice(0, 1024),
        tamperEvents: req.tamperEvents.slice(0, 100).map((t) => t.slice(0, 512)),
        counters: req.counters
          .slice(0, 100_000)
          .map((c) => ({ leaseId: c.leaseId, packets: Number(c.packets), bytes: Number(c.bytes) })),
        mode: req.mode.slice(0, 32),
        backend: req.backend.slice(0, 32),
      });
      if (changes.length > 0) {
        await deps.audit([
          {
            atMs: Date.now(),
            actor: `firewall/${caller.identity.name}`,
            peer: caller.peer,
            action: 'enforcer-status',
            requestId: '',
            leaseId: '',
            outcome: req.error === '' ? 'OK' : 'ERROR',
            ruleId: '',
            detail: { changes, appliedRevision: req.appliedRevision, mode: req.mode },
          },
        ]);
      }
      return {
        response: { heartbeatSeconds: deps.registry.heartbeatSeconds },
        log: { appliedRevision: req.appliedRevision },
      };
    }),
  };
}
