/**
 * Explain a decision: the Decision itself plus, per opening, every rule that covers the requested ports
 * and why it did or did not apply. A linear pass over the rules: explain is for people (CLI, admin
 * what-if), not the hot path, and must show the rules the index skipped too.
 */
import type { Decision, OpenRequest } from '../core/types.js';
import type { HostDirectory, RequesterFacts } from './api.js';
import { ruleApplies, type EvalContext, type OpeningAnalysis } from './analyze.js';
import { formatAddresses, list } from './describe.js';
import { formatDuration } from './durations.js';
import type { PolicyEngine } from './engine.js';
import { rulesMeeting } from './judge.js';
import { isRuleActive, type CompiledRule, type Effect } from './model.js';
import { familySet, intersect, union } from './net.js';
import { formatPorts, intersectPorts, portsOverlap } from './ports.js';

export interface TraceEntry {
  readonly openingIndex: number;
  /** The rule this line is about; empty for notes about the whole opening. */
  readonly ruleId: string;
  readonly effect?: Effect;
  readonly verdict: 'applies' | 'skipped' | 'note';
  readonly reason: string;
}

export interface Explanation {
  readonly decision: Decision;
  readonly trace: readonly TraceEntry[];
}

function requestersLabel(rule: CompiledRule): string {
  const parts: string[] = [];
  if (rule.requesters.any) parts.push('any');
  for (const h of rule.requesters.hosts) parts.push(`host ${h}`);
  for (const g of rule.requesters.groups) parts.push(`group ${g}`);
  return list(parts);
}

function traceRule(ctx: EvalContext, a: OpeningAnalysis, rule: CompiledRule): TraceEntry {
  const base = { openingIndex: a.input.index, ruleId: rule.id, effect: rule.effect };
  const skipped = (reason: string): TraceEntry => ({ ...base, verdict: 'skipped', reason });
  if (!isRuleActive(rule, ctx.nowMs))
    return skipped(`expired at ${new Date(rule.expiresAtMs ?? 0).toISOString()}; ignored`);
  if (!ruleApplies(ctx, rule)) {
    const groups = ctx.memberGroups.size === 0 ? 'no groups' : `groups ${list([...ctx.memberGroups])}`;
    return skipped(
      `requesters (${requestersLabel(rule)}) do not include ${ctx.requester.name} (member of ${groups})`,
    );
  }
  const dests = a.input.destinations.filter((d) => ctx.resolver.covers(rule.to, d, ctx.self));
  if (dests.length === 0)
    return skipped(
      `to: ${rule.toLabel} covers none of the destinations ${formatAddresses(a.input.destinations)}`,
    );
  const sourcesMeet = dests.some(
    (d) =>
      intersect(
        familySet(ctx.resolver.termsSources(rule.from, ctx.self), d.family),
        familySet(a.input.sources, d.family),
      ).length > 0,
  );
  if (!sourcesMeet)
    return skipped(`from ${rule.fromLabel} does not overlap the requested sources (${a.input.sourceLabel})`);
  const ports = formatPorts(intersectPorts(rule.ports, a.input.ports));
  if (rule.effect === 'deny')
    return {
      ...base,
      verdict: 'applies',
      reason: `denies ${ports} from ${rule.fromLabel} (deny wins over allow)`,
    };
  const granted = rulesMeeting(ctx, [rule], a.cells, (c) => union(c.auto, c.manual)).length > 0;
  if (!granted) return skipped(`matches ${ports} from ${rule.fromLabel}, but deny rules remove all of it`);
  const how = rule.approval === 'manual' ? 'with manual approval' : 'automatically';
  const ttl = rule.maxTtlSeconds === undefined ? '' : `, max_ttl ${formatDuration(rule.maxTtlSeconds)}`;
  return {
    ...base,
    verdict: 'applies',
    reason: `allows ${ports} from ${rule.fromLabel} to ${rule.toLabel} ${how}${ttl}`,
  };
}

export function explainRequest(
  engine: PolicyEngine,
  requester: RequesterFacts,
  request: OpenRequest,
  directory: HostDirectory,
  nowMs: number,
): Explanation {
  const decision = engine.decide(requester, request, directory, nowMs);
  const ctx = engine.context(requester, directory, nowMs);
  const rules = engine.policy.rules;
  const trace: TraceEntry[] = [];
  for (const a of engine.analyze(ctx, request)) {
    const i = a.input.index;
    const groups = ctx.memberGroups.size === 0 ? 'none' : list([...ctx.memberGroups]);
    trace.push({
      openingIndex: i,
      ruleId: '',
      verdict: 'note',
      reason: `${formatPorts(a.input.ports)} from ${a.input.sourceLabel} to ${formatAddresses(a.input.destinations)}; ${ctx.requester.name} is in groups: ${groups}; the index offered ${a.candidates.length} of ${rules.length} rules`,
    });
    let others = 0;
    for (const rule of rules) {
      if (!portsOverlap(rule.ports, a.input.ports)) {
        others++;
        continue;
      }
      trace.push(traceRule(ctx, a, rule));
    }
    if (others > 0)
      trace.push({
        openingIndex: i,
        ruleId: '',
        verdict: 'note',
        reason: `${others} other rules do not cover ${formatPorts(a.input.ports)}`,
      });
  }
  return { decision, trace };
}
