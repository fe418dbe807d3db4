/**
 * A small, obviously correct evaluator for testing the indexed one: no index, no port segments. For
 * every requested port, every destination and every rule in the file it applies the definition
 * directly, then hands the cells to the same decision assembly. The property test
 * (test/unit/policy-property.test.ts) checks both give identical Decisions on random policies.
 *
 * Cost is ports x destinations x rules: for tests only.
 */
import type { Decision, OpenRequest } from '../core/types.js';
import type { HostDirectory, RequesterFacts } from './api.js';
import {
  normalizeCells,
  resolveOpening,
  type Cell,
  type EvalContext,
  type OpeningAnalysis,
  type OpeningInput,
} from './analyze.js';
import { assembleDecision } from './assemble.js';
import { GroupResolver, memberGroupsOf } from './groups.js';
import { judgeOpening } from './judge.js';
import type { CompiledPolicy, CompiledRule } from './model.js';
import { familySet, intersect, parseAddress, subtract, union, type Cidr, type CidrSet } from './net.js';

export class ReferenceEvaluator {
  readonly #policy: CompiledPolicy;

  constructor(policy: CompiledPolicy) {
    this.#policy = policy;
  }

  decide(requester: RequesterFacts, request: OpenRequest, directory: HostDirectory, nowMs: number): Decision {
    const self = requester.addresses.map(parseAddress).filter((c): c is Cidr => c !== null);
    const ctx: EvalContext = {
      policy: this.#policy,
      requester,
      self,
      memberGroups: memberGroupsOf(this.#policy, requester.name, self),
      resolver: new GroupResolver(this.#policy, directory),
      nowMs,
    };
    const verdicts = request.openings.map((spec, i) =>
      judgeOpening(ctx, this.#analyze(ctx, resolveOpening(ctx, spec, i)), request.allOrNothing),
    );
    return assembleDecision(ctx, request, verdicts);
  }

  #applies(ctx: EvalContext, rule: CompiledRule): boolean {
    const active = rule.expiresAtMs === undefined || ctx.nowMs < rule.expiresAtMs;
    const r = rule.requesters;
    return (
      active && (r.any || r.hosts.has(ctx.requester.name) || r.groups.some((g) => ctx.memberGroups.has(g)))
    );
  }

  #analyze(ctx: EvalContext, input: OpeningInput): OpeningAnalysis {
    const applicable = this.#policy.rules.filter((r) => this.#applies(ctx, r));
    const candidates = applicable.filter((r) =>
      r.ports.some((p) =>
        input.ports.some((q) => p.protocol === q.protocol && p.from <= q.to && q.from <= p.to),
      ),
    );
    const cells: Cell[] = [];
    for (const range of input.ports)
      for (let port = range.from; port <= range.to; port++)
        input.destinations.forEach((destination, destIndex) => {
          const requested = familySet(input.sources, destination.family);
          let auto: CidrSet = [];
          let manual: CidrSet = [];
          let denied: CidrSet = [];
          for (const rule of applicable) {
            if (!rule.ports.some((p) => p.protocol === range.protocol && p.from <= port && port <= p.to))
              continue;
            if (!ctx.resolver.covers(rule.to, destination, ctx.self)) continue;
            const from = intersect(
              familySet(ctx.resolver.termsSources(rule.from, ctx.self), destination.family),
              requested,
            );
            if (rule.effect === 'deny') denied = union(denied, from);
            else if (rule.approval === 'auto') auto = union(auto, from);
            else manual = union(manual, from);
          }
          cells.push({
            protocol: range.protocol,
            portFrom: port,
            portTo: port,
            destIndex,
            destination,
            requested,
            auto: subtract(auto, denied),
            manual: subtract(subtract(manual, auto), denied),
            denied,
          });
        });
    return { input, cells: normalizeCells(cells), candidates };
  }
}
