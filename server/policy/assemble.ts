/**
 * The overall Decision from per-opening verdicts, and the TTL.
 *
 * Overall outcome (documented here because the contract leaves it open):
 * - DENIED when every opening is denied, or when `all_or_nothing` is set and anything would be less than
 *   asked (an opening denied or narrowed, or the TTL cut).
 * - PENDING when any opening needs manual approval (and the request is not denied as above). Openings
 *   that are denied in a best-effort request do not block approval of the rest: they are listed as
 *   narrowings, like any other part policy refused.
 * - GRANTED when every opening is granted in full and the TTL was not cut.
 * - PARTIAL otherwise.
 *
 * TTL: granted = clamp(requested or defaults.ttl, min_ttl, cap) with cap = the smallest max_ttl of the
 * rules the grant relies on and defaults.max_ttl; the cap wins over min_ttl. A cut counts as a narrowing
 * (so GRANTED becomes PARTIAL) only when the client asked explicitly for more than the cap: asking for
 * "the default" and getting the policy's bound is not less than asked. Raising a too-short request to
 * min_ttl is not a narrowing either.
 */
import type { Decision, Narrowing, OpenRequest, OpeningDecision } from '../core/types.js';
import type { EvalContext } from './analyze.js';
import { mergeConcrete } from './describe.js';
import { formatDuration } from './durations.js';
import type { OpeningVerdict } from './judge.js';
import type { CompiledRule } from './model.js';

const MAX_WOULD_ALLOW = 5;

function deniedDecision(
  ruleId: string,
  reason: string,
  narrowings: readonly Narrowing[],
  wouldAllow: readonly string[],
  openings: readonly OpeningDecision[],
): Decision {
  return {
    outcome: 'DENIED',
    ruleId,
    reason,
    narrowings,
    wouldAllow: wouldAllow.slice(0, MAX_WOULD_ALLOW).join('; '),
    openings,
    rules: [],
    ttlSeconds: 0,
    maxLifetimeSeconds: 0,
  };
}

interface TtlResult {
  readonly ttlSeconds: number;
  readonly narrowing: Narrowing | undefined;
}

function grantTtl(
  ctx: EvalContext,
  request: OpenRequest,
  live: readonly OpeningVerdict[],
  decidingRuleId: string,
): TtlResult {
  const d = ctx.policy.defaults;
  let cap = d.maxTtlSeconds;
  let capRule: CompiledRule | undefined;
  let capOpening = live[0]?.decision.openingIndex ?? 0;
  for (const v of live)
    for (const r of v.contributors)
      if (r.maxTtlSeconds !== undefined && r.maxTtlSeconds < cap) {
        cap = r.maxTtlSeconds;
        capRule = r;
        capOpening = v.decision.openingIndex;
      }
  const asked = request.requestedTtlSeconds > 0 ? request.requestedTtlSeconds : d.ttlSeconds;
  const ttlSeconds = Math.min(cap, Math.max(d.minTtlSeconds, asked));
  if (request.requestedTtlSeconds <= cap) return { ttlSeconds, narrowing: undefined };
  const why =
    capRule !== undefined
      ? `rule ${capRule.id} allows at most ${formatDuration(cap)}`
      : `defaults.max_ttl is ${formatDuration(cap)}`;
  return {
    ttlSeconds,
    narrowing: {
      openingIndex: capOpening,
      field: 'ttl',
      requested: formatDuration(request.requestedTtlSeconds),
      granted: formatDuration(ttlSeconds),
      ruleId: capRule?.id ?? decidingRuleId,
      reason: `requested ttl ${formatDuration(request.requestedTtlSeconds)} exceeds the limit: ${why}`,
    },
  };
}

export function assembleDecision(
  ctx: EvalContext,
  request: OpenRequest,
  verdicts: readonly OpeningVerdict[],
): Decision {
  const openings = verdicts.map((v) => v.decision);
  const many = verdicts.length > 1;
  const label = (v: OpeningVerdict): string =>
    many ? `opening ${v.decision.openingIndex}: ${v.decision.reason}` : v.decision.reason;
  const deniedOnes = verdicts.filter((v) => v.decision.outcome === 'DENIED');
  const live = verdicts.filter((v) => v.decision.outcome !== 'DENIED');
  const narrowings: Narrowing[] = verdicts.flatMap((v) => v.narrowings);
  const wouldAllow = verdicts.flatMap((v) => v.wouldAllow);

  const firstDenied = deniedOnes[0];
  if (firstDenied !== undefined && (live.length === 0 || request.allOrNothing)) {
    const reason = many && live.length > 0 ? `all_or_nothing: ${label(firstDenied)}` : label(firstDenied);
    return deniedDecision(firstDenied.decision.ruleId, reason, narrowings, wouldAllow, openings);
  }

  const pendingOne = live.find((v) => v.decision.outcome === 'PENDING');
  const narrowedOne = live.find((v) => v.decision.outcome === 'PARTIAL');
  const deciding = (pendingOne ?? live[0]) as OpeningVerdict;
  const ttl = grantTtl(ctx, request, live, deciding.decision.ruleId);
  if (ttl.narrowing !== undefined) {
    if (request.allOrNothing)
      return deniedDecision(
        ttl.narrowing.ruleId,
        `all_or_nothing: ${ttl.narrowing.reason}`,
        [...narrowings, ttl.narrowing],
        wouldAllow,
        openings,
      );
    narrowings.push(ttl.narrowing);
  }
  // A best-effort request keeps what it can get; each refused opening is reported as a narrowing.
  for (const v of deniedOnes)
    narrowings.push({
      openingIndex: v.decision.openingIndex,
      field: 'ports',
      requested: v.requestedPorts,
      granted: 'none',
      ruleId: v.decision.ruleId,
      reason: v.decision.reason,
    });

  let outcome: Decision['outcome'];
  let reason: string;
  if (pendingOne !== undefined) {
    outcome = 'PENDING';
    reason = label(pendingOne);
  } else if (narrowings.length === 0) {
    outcome = 'GRANTED';
    reason = many ? `all ${verdicts.length} openings granted; ${label(deciding)}` : label(deciding);
  } else {
    outcome = 'PARTIAL';
    const why = narrowedOne ?? firstDenied;
    const base = why !== undefined ? label(why) : label(deciding);
    const counted = many ? `${live.length} of ${verdicts.length} openings granted; ` : '';
    reason =
      ttl.narrowing !== undefined && why === undefined
        ? `${base}; ${ttl.narrowing.reason}`
        : `${counted}${base}`;
  }
  return {
    outcome,
    ruleId: deciding.decision.ruleId,
    reason,
    narrowings,
    wouldAllow: '',
    openings,
    rules: mergeConcrete(live.flatMap((v) => v.rules)),
    ttlSeconds: ttl.ttlSeconds,
    maxLifetimeSeconds: ctx.policy.defaults.maxLifetimeSeconds,
  };
}
