/**
 * The admin JSON API: one table of routes, each decoding its input, calling AdminService (which
 * checks the role again and records the call) and returning plain JSON. No admin logic lives
 * here; this file only translates HTTP to the service and back.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONWebKeySet } from 'jose';
import type { Role } from '../core/types.js';
import type { Caller } from '../lease/caller.js';
import { toJsonLines } from '../audit/query.js';
import { LIMITS } from '../rpc/limits.js';
import type { AdminService } from './admin-service.js';
import { idField, intField, readJsonBody, stringField, stringListField } from './http-body.js';
import { exportFileName, parseAuditQuery } from './http-audit-query.js';
import { parseExplainBody } from './http-explain.js';
import { invalid } from '../core/errors.js';

export type Reply =
  | { readonly kind: 'json'; readonly status?: number; readonly body: unknown }
  | {
      readonly kind: 'download';
      readonly contentType: string;
      readonly fileName: string;
      readonly body: string;
    }
  /** The handler took over the response (Server-Sent Events). */
  | { readonly kind: 'taken' };

export interface RouteContext {
  readonly caller: Caller;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
}

export interface Route {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Roles allowed to call. Everything is admin-only except the receipt JWKS. */
  readonly roles: readonly Role[];
  readonly handle: (ctx: RouteContext) => Promise<Reply>;
}

export interface RouteDeps {
  readonly admin: AdminService;
  readonly jwks: () => JSONWebKeySet;
  /** Hands the response to the change feed (SSE). */
  readonly events: (ctx: RouteContext) => void;
}

const ADMIN: readonly Role[] = ['admin'];
// Firewalls and hosts verify receipts offline; the key set is public material, but it is still
// served only over mTLS so that this listener has one rule: no Pinhole certificate, no answer.
const ANY_ROLE: readonly Role[] = ['admin', 'host', 'firewall', 'server'];

const json = (body: unknown, status?: number): Reply =>
  status === undefined ? { kind: 'json', body } : { kind: 'json', status, body };

function flag(params: URLSearchParams, key: string): boolean {
  const v = params.get(key);
  if (v === null || v === '' || v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true') return true;
  throw invalid(key, `${JSON.stringify(v.slice(0, 20))} is not a flag; use 1 or 0`);
}

export function adminRoutes(d: RouteDeps): readonly Route[] {
  const { admin } = d;
  return [
    {
      method: 'GET',
      path: '/api/leases',
      roles: ADMIN,
      handle: async ({ caller, url }) => {
        const host = url.searchParams.get('host')?.trim() ?? '';
        const limitText = url.searchParams.get('limit') ?? '';
        const limit =
          limitText === '' ? 1000 : intField({ limit: Number(limitText) }, 'limit', 1, 10_000, 1000);
        const rows = await admin.listLeases(caller, {
          host,
          includeEnded: flag(url.searchParams, 'ended'),
          limit,
        });
        // The console counts down against the server's clock, not the browser's.
        return json({ serverTimeMs: Date.now(), leases: rows });
      },
    },
    {
      method: 'GET',
      path: '/api/pending',
      roles: ADMIN,
      handle: async ({ caller }) =>
        json({ serverTimeMs: Date.now(), pending: await admin.listPending(caller) }),
    },
    {
      method: 'GET',
      path: '/api/audit',
      roles: ADMIN,
      handle: async ({ caller, url }) => {
        const { filter, format } = parseAuditQuery(url.searchParams);
        const records = await admin.queryAudit(caller, filter);
        if (format === 'jsonl') {
          return {
            kind: 'download',
            contentType: 'application/x-ndjson; charset=utf-8',
            fileName: exportFileName(Date.now()),
            body: toJsonLines(records),
          };
        }
        return json({ records, limit: filter.limit });
      },
    },
    {
      method: 'GET',
      path: '/api/enforcers',
      roles: ADMIN,
      handle: async ({ caller }) =>
        json({ serverTimeMs: Date.now(), enforcers: await admin.listEnforcers(caller) }),
    },
    {
      method: 'GET',
      path: '/api/policy',
      roles: ADMIN,
      handle: async ({ caller }) => json(await admin.policyText(caller)),
    },
    {
      method: 'POST',
      path: '/api/approve',
      roles: ADMIN,
      handle: async ({ caller, req }) => {
        const body = await readJsonBody(req);
        const pendingId = idField(body, 'pendingId');
        const answer = await admin.approve(caller, pendingId, {
          ttlSeconds: intField(body, 'ttlSeconds', 0, LIMITS.ttlMaxSeconds, 0),
          sourceCidrs: stringListField(body, 'sourceCidrs', LIMITS.sourcesMax),
          comment: stringField(body, 'comment'),
        });
        return json(answer);
      },
    },
    {
      method: 'POST',
      path: '/api/deny',
      roles: ADMIN,
      handle: async ({ caller, req }) => {
        const body = await readJsonBody(req);
        const pendingId = idField(body, 'pendingId');
        return json(await admin.deny(caller, pendingId, stringField(body, 'reason', { required: true })));
      },
    },
    {
      method: 'POST',
      path: '/api/revoke',
      roles: ADMIN,
      handle: async ({ caller, req }) => {
        const body = await readJsonBody(req);
        const leaseId = idField(body, 'leaseId');
        return json({
          lease: await admin.revoke(caller, leaseId, stringField(body, 'reason', { required: true })),
        });
      },
    },
    {
      method: 'POST',
      path: '/api/explain',
      roles: ADMIN,
      handle: async ({ caller, req }) => {
        const { who, request } = parseExplainBody(await readJsonBody(req));
        return json({ decision: await admin.explain(caller, who, request) });
      },
    },
    {
      method: 'POST',
      path: '/api/reload',
      roles: ADMIN,
      handle: async ({ caller, req }) => {
        await readJsonBody(req); // no fields, but the same content-type rule as every POST
        return json(await admin.reloadPolicy(caller));
      },
    },
    {
      method: 'GET',
      path: '/api/events',
      roles: ADMIN,
      handle: (ctx) => {
        d.events(ctx);
        return Promise.resolve({ kind: 'taken' });
      },
    },
    {
      method: 'GET',
      path: '/.well-known/jwks.json',
      roles: ANY_ROLE,
      handle: () => Promise.resolve(json(d.jwks())),
    },
  ];
}
