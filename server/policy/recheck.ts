/**
 * Re-check of a live lease against (new) policy, after a reload or when a rule's own `expires` passes.
 *
 * Every concrete rule of the lease must still be allowed for the requester, by any rule: a lease whose
 * granting rule was removed survives if another rule now covers it. Manual-approval rules count as
 * allowing here: the approval was given when the lease was granted. If the lease survives but its rules
 * now allow a shorter term (max_ttl, defaults.max_ttl or max_lifetime lowered), `maxExpiresAtMs` says
 * how long it may still live, counted from now.
 */
import type { ConcreteRule, Lease } from '../core/types.js';
import type { Recheck } from './api.js';
import type { EvalContext, OpeningAnalysis } from './analyze.js';
import { formatConcrete } from './describe.js';
import type { PolicyEngine } from './engine.js';
import { rulesMeeting } from './judge.js';
import type { CompiledRule } from './model.js';
import { parseAddress, parseCidr, setSize, toFamilySets, union } from './net.js';

function analyzeConcrete(
  engine: PolicyEngine,
  ctx: EvalContext,
  r: ConcreteRule,
  k: number,
): OpeningAnalysis | undefined {
  const dest = parseAddress(r.destination);
  const src = parseCidr(r.sourceCidr);
  if (dest === null || src === null) return undefined;
  return engine.analyzeInput(ctx, {
    index: k,
    ports: [{ protocol: r.protocol, from: r.portFrom, to: r.portTo }],
    destinations: [dest],
    sources: toFamilySets([src]),
    sourceLabel: r.sourceCidr,
  });
}

function whyNot(
  engine: PolicyEngine,
  ctx: EvalContext,
  lease: Lease,
  r: ConcreteRule,
  a: OpeningAnalysis | undefined,
): Recheck {
  const what = formatConcrete(r);
  if (a !== undefined) {
    const denies = a.candidates.filter((c) => c.effect === 'deny');
    const d = rulesMeeting(ctx, denies, a.cells, (c) => c.denied)[0];
    if (d !== undefined) return { keep: false, ruleId: d.id, reason: `rule ${d.id} now denies ${what}` };
  }
  const granting = engine.policy.ruleById.get(lease.ruleId);
  if (granting === undefined)
    return {
      keep: false,
      ruleId: lease.ruleId,
      reason: `rule ${lease.ruleId} was removed from policy; no other rule allows ${what}`,
    };
  if (granting.expiresAtMs !== undefined && ctx.nowMs >= granting.expiresAtMs)
    return {
      keep: false,
      ruleId: granting.id,
      reason: `rule ${granting.id} expired at ${new Date(granting.expiresAtMs).toISOString()}; no other rule allows ${what}`,
    };
  return {
    keep: false,
    ruleId: granting.id,
    reason: `rule ${granting.id} no longer allows ${what} for ${ctx.requester.name}`,
  };
}

export function recheckLease(engine: PolicyEngine, lease: Lease, ctx: EvalContext): Recheck {
  const contributors = new Set<CompiledRule>();
  for (const [k, r] of lease.rules.entries()) {
    const a = analyzeConcrete(engine, ctx, r, k);
    const allowed =
      a !== undefined &&
      a.cells.length > 0 &&
      a.cells.every(
        (c) => setSize(union(c.auto, c.manual)) === setSize(c.requested) && c.requested.length > 0,
      );
    if (!allowed) return whyNot(engine, ctx, lease, r, a);
    const allows = a.candidates.filter((c) => c.effect === 'allow');
    for (const c of rulesMeeting(ctx, allows, a.cells, (cell) => union(cell.auto, cell.manual)))
      contributors.add(c);
  }
  const d = engine.defaults;
  let capSeconds = d.maxTtlSeconds;
  for (const c of contributors)
    if (c.maxTtlSeconds !== undefined) capSeconds = Math.min(capSeconds, c.maxTtlSeconds);
  const latest = Math.min(ctx.nowMs + capSeconds * 1000, lease.grantedAtMs + d.maxLifetimeSeconds * 1000);
  if (latest >= lease.expiresAtMs) return { keep: true };
  // Never in the past: a lease cut to "now" ends at the engine's next expiry pass.
  return { keep: true, maxExpiresAtMs: Math.max(ctx.nowMs, latest) };
}
