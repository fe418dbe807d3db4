/**
 * Per-opening analysis: split the requested region (ports x destinations x sources) into cells and say,
 * for each cell, which sources are granted now (auto rules), grantable with approval (manual rules) and
 * removed by deny rules. Both evaluators (indexed here, linear in reference-evaluator.ts) produce this
 * same structure; decision assembly (assemble.ts) is shared and turns it into a Decision.
 */
import { invalid } from '../core/errors.js';
import type { OpeningSpec, PortRange, Protocol, Source } from '../core/types.js';
import type { RequesterFacts } from './api.js';
import { ANY_SOURCES, type GroupResolver } from './groups.js';
import { isRuleActive, type CompiledPolicy, type CompiledRule } from './model.js';
import {
  familySet,
  intersect,
  parseAddress,
  parseCidr,
  setsEqual,
  subtract,
  toFamilySets,
  union,
  unionFamilies,
  EMPTY_SETS,
  type Cidr,
  type CidrSet,
  type FamilySets,
} from './net.js';
import { isProtocol, normalizePorts, portsCover, protocolOrder, type PortSet } from './ports.js';
import type { RuleIndex } from './rule-index.js';

/** Everything a decision needs besides the request, built once per call. */
export interface EvalContext {
  readonly policy: CompiledPolicy;
  readonly requester: RequesterFacts;
  /** The requester's certificate addresses, parsed. */
  readonly self: readonly Cidr[];
  readonly memberGroups: ReadonlySet<string>;
  readonly resolver: GroupResolver;
  readonly nowMs: number;
}

/** One opening with its app resolved, destinations defaulted and sources resolved to CIDRs. */
export interface OpeningInput {
  readonly index: number;
  readonly ports: PortSet;
  readonly destinations: readonly Cidr[];
  readonly sources: FamilySets;
  /** The requested sources as the client named them, for messages. */
  readonly sourceLabel: string;
}

/** A run of ports on one destination over which every set below is the same. */
export interface Cell {
  readonly protocol: Protocol;
  readonly portFrom: number;
  readonly portTo: number;
  /** Index into OpeningInput.destinations. */
  readonly destIndex: number;
  readonly destination: Cidr;
  /** Requested sources of the destination's family. */
  readonly requested: CidrSet;
  /** Granted now by auto-approval allow rules, minus denials. */
  readonly auto: CidrSet;
  /** Grantable only with manual approval (not auto), minus denials. */
  readonly manual: CidrSet;
  /** Requested sources a deny rule covers here. */
  readonly denied: CidrSet;
}

export interface OpeningAnalysis {
  readonly input: OpeningInput;
  /** Canonical: sorted by destination, protocol, port; adjacent runs with equal sets merged. */
  readonly cells: readonly Cell[];
  /** Active rules for this requester whose ports overlap the request, in policy order. */
  readonly candidates: readonly CompiledRule[];
}

export function ruleApplies(ctx: EvalContext, rule: CompiledRule): boolean {
  if (!isRuleActive(rule, ctx.nowMs)) return false;
  const r = rule.requesters;
  return r.any || r.hosts.has(ctx.requester.name) || r.groups.some((g) => ctx.memberGroups.has(g));
}

export function describeSource(s: Source): string {
  switch (s.kind) {
    case 'any':
      return 'any';
    case 'cidr':
      return s.cidr;
    case 'group':
      return `group ${s.name}`;
    case 'host':
      return `host ${s.name}`;
  }
}

function requestedPorts(ctx: EvalContext, spec: OpeningSpec, i: number): PortSet {
  if (spec.app !== undefined) {
    const app = ctx.policy.apps.get(spec.app);
    if (app === undefined)
      throw invalid(`openings[${i}].app`, `unknown app "${spec.app}"; use a catalog id or PROTO/PORT`);
    return app.ports;
  }
  const p: PortRange = spec.ports;
  if (!isProtocol(p.protocol))
    throw invalid(`openings[${i}].ports.protocol`, `"${String(p.protocol)}"; use tcp, udp or sctp`);
  const ok =
    Number.isInteger(p.from) && Number.isInteger(p.to) && p.from >= 1 && p.to <= 65535 && p.from <= p.to;
  if (!ok)
    throw invalid(`openings[${i}].ports`, `${p.from}-${p.to} is not a port range; use 1-65535, from <= to`);
  return normalizePorts([p]);
}

/** Resolve one requested opening. Throws INVALID_ARGUMENT for references policy cannot resolve. */
export function resolveOpening(ctx: EvalContext, spec: OpeningSpec, i: number): OpeningInput {
  const ports = requestedPorts(ctx, spec, i);
  let destinations: Cidr[];
  if (spec.destinations.length === 0) destinations = [...ctx.self];
  else {
    destinations = spec.destinations.map((d, j) => {
      const c = parseAddress(d);
      if (c === null) throw invalid(`openings[${i}].destinations[${j}]`, `"${d}" is not an IP address`);
      return c;
    });
  }
  // Few destinations per opening: a quadratic dedupe allocates less than a Map.
  const unique = destinations.filter(
    (d, k) => destinations.findIndex((e) => e.family === d.family && e.start === d.start) === k,
  );
  let sources: FamilySets = spec.sources.length === 0 ? ANY_SOURCES : EMPTY_SETS;
  spec.sources.forEach((s, j) => {
    const field = `openings[${i}].sources[${j}]`;
    switch (s.kind) {
      case 'any':
        sources = ANY_SOURCES;
        return;
      case 'cidr': {
        const c = parseCidr(s.cidr);
        if (c === null) throw invalid(field, `"${s.cidr}" is not a CIDR; write ADDRESS/PREFIX`);
        sources = unionFamilies(sources, toFamilySets([c]));
        return;
      }
      case 'group':
        if (!ctx.policy.groups.has(s.name))
          throw invalid(field, `group "${s.name}" is not defined in policy`);
        sources = unionFamilies(sources, ctx.resolver.groupSources(s.name));
        return;
      case 'host':
        sources = unionFamilies(sources, ctx.resolver.hostSources(s.name));
        return;
    }
  });
  if (spec.sources.some((s) => s.kind === 'any')) sources = ANY_SOURCES;
  const sourceLabel = spec.sources.length === 0 ? 'any' : spec.sources.map(describeSource).join(', ');
  return { index: i, ports, destinations: unique, sources, sourceLabel };
}

/**
 * The cell formula, the heart of the semantics: deny wins over allow, auto before manual.
 * `covering` are the applicable rules covering every port of the run and this destination.
 */
export function computeCell(
  ctx: EvalContext,
  covering: readonly CompiledRule[],
  base: Pick<Cell, 'protocol' | 'portFrom' | 'portTo' | 'destIndex' | 'destination' | 'requested'>,
): Cell {
  if (covering.length === 0) return makeCell(base, [], [], []);
  const fam = base.destination.family;
  let auto: CidrSet = [];
  let manual: CidrSet = [];
  let denied: CidrSet = [];
  for (const rule of covering) {
    const from = intersect(familySet(ctx.resolver.termsSources(rule.from, ctx.self), fam), base.requested);
    if (from.length === 0) continue;
    if (rule.effect === 'deny') denied = union(denied, from);
    else if (rule.approval === 'auto') auto = union(auto, from);
    else manual = union(manual, from);
  }
  manual = subtract(subtract(manual, auto), denied);
  auto = subtract(auto, denied);
  return makeCell(base, auto, manual, denied);
}

// Explicit construction, not `{ ...base }`: keeps one object shape on this hot path.
function makeCell(
  base: Omit<Cell, 'auto' | 'manual' | 'denied'>,
  auto: CidrSet,
  manual: CidrSet,
  denied: CidrSet,
): Cell {
  return {
    protocol: base.protocol,
    portFrom: base.portFrom,
    portTo: base.portTo,
    destIndex: base.destIndex,
    destination: base.destination,
    requested: base.requested,
    auto,
    manual,
    denied,
  };
}

function dedupeSorted(points: number[]): void {
  let w = 0;
  for (const p of points) if (w === 0 || points[w - 1] !== p) points[w++] = p;
  points.length = w;
}

/** Sort and merge adjacent runs so any partition of the same region yields the same list. */
export function normalizeCells(cells: readonly Cell[]): readonly Cell[] {
  if (cells.length <= 1) return cells;
  const sorted = [...cells].sort(
    (a, b) =>
      a.destIndex - b.destIndex ||
      protocolOrder(a.protocol) - protocolOrder(b.protocol) ||
      a.portFrom - b.portFrom,
  );
  const out: Cell[] = [];
  for (const c of sorted) {
    const last = out[out.length - 1];
    if (
      last !== undefined &&
      last.destIndex === c.destIndex &&
      last.protocol === c.protocol &&
      last.portTo + 1 === c.portFrom &&
      setsEqual(last.auto, c.auto) &&
      setsEqual(last.manual, c.manual) &&
      setsEqual(last.denied, c.denied)
    ) {
      const merged = {
        protocol: last.protocol,
        portFrom: last.portFrom,
        portTo: c.portTo,
        destIndex: last.destIndex,
      };
      out[out.length - 1] = makeCell(
        { ...merged, destination: last.destination, requested: last.requested },
        last.auto,
        last.manual,
        last.denied,
      );
    } else out.push(c);
  }
  return out;
}

/** Indexed analysis: candidates from the index, cells per elementary port segment. */
export function analyzeIndexed(
  ctx: EvalContext,
  index: RuleIndex,
  keys: readonly string[],
  input: OpeningInput,
): OpeningAnalysis {
  const candidates = index.candidates(keys, input.ports).filter((r) => isRuleActive(r, ctx.nowMs));
  const cells: Cell[] = [];
  for (const range of input.ports) {
    const overlapping =
      candidates.length === 0
        ? candidates
        : candidates.filter((r) =>
            r.ports.some((p) => p.protocol === range.protocol && p.from <= range.to && range.from <= p.to),
          );
    // Elementary segments: every rule boundary inside the requested range starts a new one.
    const points = [range.from, range.to + 1];
    for (const r of overlapping)
      for (const p of r.ports) {
        if (p.protocol !== range.protocol) continue;
        if (p.from > range.from && p.from <= range.to) points.push(p.from);
        if (p.to >= range.from && p.to < range.to) points.push(p.to + 1);
      }
    if (points.length > 2) {
      points.sort((a, b) => a - b);
      dedupeSorted(points);
    }
    for (let k = 0; k + 1 < points.length; k++) {
      const portFrom = points[k] as number;
      const portTo = (points[k + 1] as number) - 1;
      const inSegment = overlapping.filter((r) => portsCover(r.ports, range.protocol, portFrom, portTo));
      input.destinations.forEach((destination, destIndex) => {
        const covering = inSegment.filter((r) => ctx.resolver.covers(r.to, destination, ctx.self));
        const requested = familySet(input.sources, destination.family);
        const base = { protocol: range.protocol, portFrom, portTo, destIndex, destination, requested };
        cells.push(computeCell(ctx, covering, base));
      });
    }
  }
  return { input, cells: normalizeCells(cells), candidates };
}
