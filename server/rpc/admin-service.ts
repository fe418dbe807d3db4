/**
 * gRPC handlers of pinhole.v1.Admin: check the role, decode, call AdminService, encode.
 *
 * The role check comes first, before any field is decoded: a host or firewall certificate gets
 * PERMISSION_DENIED whatever it sends, so field validation (and what it says about the API) is
 * only ever shown to admins. AdminService checks the role again for its other callers (HTTP).
 */
import type { ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { AdminHandlers } from '../../proto/gen/pinhole/v1/Admin.js';
import type { AuditRecord as WireAuditRecord } from '../../proto/gen/pinhole/v1/AuditRecord.js';
import type { AdminService } from '../admin/admin-service.js';
import type { AuditRecord } from '../audit/record.js';
import type { PendingRecord } from '../store/store.js';
import { parseAddress } from '../core/addresses.js';
import { invalid } from '../core/errors.js';
import { requireRole, type Caller } from '../lease/caller.js';
import { decodeLeaseId, decodeOpenRequest, encodeDecision, encodeLease, encodeOpenAnswer } from './codec.js';
import { serverStream, unary, type HandlerContext, type LogFields, type UnaryResult } from './handler.js';
import { LIMITS } from './limits.js';

function encodeAudit(r: AuditRecord): WireAuditRecord {
  return {
    seq: String(r.seq),
    atUnixMs: String(r.atMs),
    actor: r.actor,
    peer: r.peer,
    action: r.action,
    requestId: r.requestId,
    leaseId: r.leaseId,
    outcome: r.outcome,
    ruleId: r.ruleId,
    detailJson: JSON.stringify(r.detail),
    hash: r.hash,
  };
}

function encodePending(p: PendingRecord): object {
  return {
    pendingId: p.id,
    host: p.host,
    request: {
      requestId: p.request.requestId,
      requestedTtlSeconds: p.request.requestedTtlSeconds,
      description: p.request.description,
      allOrNothing: p.request.allOrNothing,
      openings: p.request.openings.map((o) => ({
        ...(o.app === undefined ? {} : { app: o.app }),
        ...(o.ports === undefined
          ? {}
          : { ports: { protocol: o.ports.protocol.toUpperCase(), from: o.ports.from, to: o.ports.to } }),
        destinations: o.destinations,
        sources: o.sources.map((s) =>
          s.kind === 'any' ? { any: true } : s.kind === 'cidr' ? { cidr: s.cidr } : { [s.kind]: s.name },
        ),
      })),
    },
    decision: encodeDecision(p.decision),
    createdAtUnixMs: String(p.createdAtMs),
    expiresAtUnixMs: String(p.expiresAtMs),
  };
}

function boundedText(value: string, field: string, required: boolean): string {
  if (required && value.trim() === '') throw invalid(field, 'is empty; it is required');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > LIMITS.descriptionMaxBytes)
    throw invalid(field, `is ${bytes} bytes; use at most ${LIMITS.descriptionMaxBytes}`);
  return value;
}

/** `unary`, refusing non-admin callers before `fn` sees the request. */
function adminUnary<Req, Res>(
  ctx: HandlerContext,
  method: string,
  fn: (caller: Caller, request: Req, call: ServerUnaryCall<Req, Res>) => Promise<UnaryResult<Res>>,
): ReturnType<typeof unary<Req, Res>> {
  return unary(ctx, method, async (caller: Caller, request: Req, call: ServerUnaryCall<Req, Res>) => {
    requireRole(caller, 'admin', method);
    return await fn(caller, request, call);
  });
}

/** `serverStream`, refusing non-admin callers before `fn` sees the request. */
function adminStream<Req, Res>(
  ctx: HandlerContext,
  method: string,
  fn: (caller: Caller, request: Req, call: ServerWritableStream<Req, Res>) => Promise<LogFields | undefined>,
): ReturnType<typeof serverStream<Req, Res>> {
  return serverStream(
    ctx,
    method,
    async (caller: Caller, request: Req, call: ServerWritableStream<Req, Res>) => {
      requireRole(caller, 'admin', method);
      return await fn(caller, request, call);
    },
  );
}

export function adminService(ctx: HandlerContext, admin: AdminService, epoch: () => string): AdminHandlers {
  return {
    ListLeases: adminUnary(ctx, 'ListLeases', async (caller, req) => {
      const rows = await admin.listLeases(caller, {
        host: req.host,
        includeEnded: req.includeEnded,
        limit: req.limit === 0 ? 1000 : req.limit,
      });
      return {
        response: {
          leases: rows.map((r) => encodeLease(r.lease, epoch())),
          usage: rows.map((r) => ({
            leaseId: r.lease.id,
            packets: String(r.packets),
            bytes: String(r.bytes),
            neverUsed: r.neverUsed,
          })),
        },
        log: { count: rows.length },
      };
    }),
    ListPending: adminUnary(ctx, 'ListPending', async (caller) => {
      const pending = await admin.listPending(caller);
      return { response: { pending: pending.map((p) => encodePending(p)) }, log: { count: pending.length } };
    }),
    Approve: adminUnary(ctx, 'Approve', async (caller, req) => {
      const answer = await admin.approve(caller, req.pendingId, {
        ttlSeconds: req.ttlSeconds,
        sourceCidrs: req.sourceCidrs,
        comment: boundedText(req.comment, 'comment', false),
      });
      return {
        response: encodeOpenAnswer(answer),
        log: { pendingId: req.pendingId, leaseId: answer.lease?.id },
      };
    }),
    Deny: adminUnary(ctx, 'Deny', async (caller, req) => {
      const answer = await admin.deny(caller, req.pendingId, boundedText(req.reason, 'reason', true));
      return { response: encodeOpenAnswer(answer), log: { pendingId: req.pendingId } };
    }),
    Revoke: adminUnary(ctx, 'Revoke', async (caller, req) => {
      const lease = await admin.revoke(
        caller,
        decodeLeaseId(req.leaseId),
        boundedText(req.reason, 'reason', true),
      );
      return { response: encodeLease(lease, epoch()), log: { leaseId: lease.id } };
    }),
    QueryAudit: adminStream(ctx, 'QueryAudit', async (caller, req, call) => {
      const records = await admin.queryAudit(caller, {
        host: req.host,
        app: req.app,
        ruleId: req.ruleId,
        decision: req.decision === 'OUTCOME_UNSPECIFIED' ? '' : req.decision,
        sinceMs: Number(req.sinceUnixMs),
        untilMs: Number(req.untilUnixMs),
        limit: req.limit === 0 ? 1000 : Math.min(req.limit, 100_000),
      });
      for (const r of records) call.write(encodeAudit(r));
      return { count: records.length };
    }),
    VerifyAudit: adminUnary(ctx, 'VerifyAudit', async (caller) => {
      const v = await admin.verifyAudit(caller);
      return {
        response: {
          ok: v.ok,
          records: String(v.records),
          firstBadSeq: String(v.firstBadSeq),
          problem: v.problem,
        },
        log: { ok: v.ok },
      };
    }),
    Explain: adminUnary(ctx, 'Explain', async (caller, req) => {
      if (req.request == null) throw invalid('request', 'is missing; send the Open request to explain');
      const addresses = req.addresses.map((a, i) => {
        const p = parseAddress(a);
        if (!p.ok) throw invalid(`addresses[${i}]`, p.error);
        return p.value;
      });
      const decision = await admin.explain(
        caller,
        { host: req.host, addresses },
        decodeOpenRequest(req.request),
      );
      return {
        response: encodeDecision(decision),
        log: { decision: decision.outcome, rule: decision.ruleId },
      };
    }),
    ReloadPolicy: adminUnary(ctx, 'ReloadPolicy', async (caller) => {
      const r = await admin.reloadPolicy(caller);
      return {
        response: {
          ok: r.ok,
          errors: [...r.errors],
          warnings: [...r.warnings],
          revoked: r.revoked,
          shortened: r.shortened,
        },
        log: { ok: r.ok },
      };
    }),
    ListEnforcers: adminUnary(ctx, 'ListEnforcers', async (caller) => {
      const list = await admin.listEnforcers(caller);
      return {
        response: {
          enforcers: list.map((e) => ({
            name: e.name,
            appliedRevision: String(e.appliedRevision),
            lastHeartbeatUnixMs: String(e.lastHeartbeatMs),
            compliant: e.compliant,
            error: e.error,
            tamperEvents: [...e.tamperEvents],
            mode: e.mode,
          })),
        },
        log: { count: list.length },
      };
    }),
  };
}
