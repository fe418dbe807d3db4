/**
 * One opening's verdict from its analysis: outcome, deciding rule, narrowings, concrete rules.
 *
 * Attribution is defined on regions, not on how cells were cut, so the indexed and the reference
 * evaluator agree: a rule "contributes" when its region (ports x `to` x `from`) meets the granted
 * region; the deciding rule is the first contributor in policy order. A deny rule is named when its
 * region meets the requested sources it removed.
 */
import type { ConcreteRule, Narrowing, OpeningDecision, Outcome, PortRange } from '../core/types.js';
import type { Cell, EvalContext, OpeningAnalysis } from './analyze.js';
import { formatAddresses, formatSources } from './describe.js';
import { DEFAULT_RULE_ID, type CompiledRule } from './model.js';
import {
  familySet,
  formatAddress,
  formatCidr,
  intersect,
  setSize,
  setsEqual,
  setsOverlap,
  subtract,
  union,
  type Cidr,
  type CidrSet,
} from './net.js';
import {
  formatPorts,
  intersectPorts,
  normalizePorts,
  portsCover,
  portSetsEqual,
  subtractPorts,
  type PortSet,
} from './ports.js';

export interface OpeningVerdict {
  readonly decision: OpeningDecision;
  readonly narrowings: readonly Narrowing[];
  /** Granted (GRANTED/PARTIAL) or proposed (PENDING) rules; empty when DENIED. */
  readonly rules: readonly ConcreteRule[];
  /** Rules the grant relies on; their max_ttl bounds the lease. */
  readonly contributors: readonly CompiledRule[];
  /** What would be allowed, for a DENIED answer: "tcp/5432 from group db via rule db-repl". */
  readonly wouldAllow: readonly string[];
  /** The requested ports, formatted, for a narrowing that reports a whole opening as denied. */
  readonly requestedPorts: string;
}

export type CellPick = (c: Cell) => CidrSet;

function ruleMeets(ctx: EvalContext, rule: CompiledRule, cell: Cell, part: CidrSet): boolean {
  if (part.length === 0) return false;
  const portHit = rule.ports.some(
    (p) => p.protocol === cell.protocol && p.from <= cell.portTo && cell.portFrom <= p.to,
  );
  if (!portHit || !ctx.resolver.covers(rule.to, cell.destination, ctx.self)) return false;
  return setsOverlap(
    familySet(ctx.resolver.termsSources(rule.from, ctx.self), cell.destination.family),
    part,
  );
}

export function rulesMeeting(
  ctx: EvalContext,
  rules: readonly CompiledRule[],
  cells: readonly Cell[],
  pick: CellPick,
): CompiledRule[] {
  return rules.filter((r) => cells.some((c) => ruleMeets(ctx, r, c, pick(c))));
}

function portsOf(cells: readonly Cell[], pick: CellPick): PortSet {
  return normalizePorts(
    cells
      .filter((c) => pick(c).length > 0)
      .map((c) => ({ protocol: c.protocol, from: c.portFrom, to: c.portTo })),
  );
}

function regionSize(cells: readonly Cell[], pick: CellPick): bigint {
  let n = 0n;
  for (const c of cells) n += setSize(pick(c)) * BigInt(c.portTo - c.portFrom + 1);
  return n;
}

function concreteRules(cells: readonly Cell[], pick: CellPick): ConcreteRule[] {
  const out: ConcreteRule[] = [];
  for (const c of cells)
    for (const src of pick(c))
      out.push({
        protocol: c.protocol,
        portFrom: c.portFrom,
        portTo: c.portTo,
        sourceCidr: formatCidr(src),
        destination: formatAddress(c.destination),
      });
  return out;
}

/**
 * Sources granted on every granted port and destination of a family; when some ports or destinations
 * get more, say so rather than print a union that may look like everything asked for.
 */
function commonSources(cells: readonly Cell[], pick: CellPick): string {
  const withGrant = cells.filter((c) => pick(c).length > 0);
  const perFamily = (fam: 4 | 6): { common: CidrSet; all: CidrSet } => {
    const mine = withGrant.filter((c) => c.destination.family === fam);
    let common: CidrSet | undefined;
    let all: CidrSet = [];
    for (const c of mine) {
      common = common === undefined ? pick(c) : intersect(common, pick(c));
      all = union(all, pick(c));
    }
    return { common: common ?? [], all };
  };
  const v4 = perFamily(4);
  const v6 = perFamily(6);
  const common = formatSources([v4.common, v6.common]);
  const same = setsEqual(v4.common, v4.all) && setsEqual(v6.common, v6.all);
  return same
    ? common
    : `${common} (on some ports or destinations also ${formatSources([subtract(v4.all, v4.common), subtract(v6.all, v6.common)])})`;
}

function grantedSources(cells: readonly Cell[], pick: CellPick): string {
  let v4: CidrSet = [];
  let v6: CidrSet = [];
  for (const c of cells) {
    if (c.destination.family === 4) v4 = union(v4, pick(c));
    else v6 = union(v6, pick(c));
  }
  return formatSources([v4, v6]);
}

/** What allow rules would grant here regardless of the requested sources (deny still wins). */
function residuals(ctx: EvalContext, a: OpeningAnalysis): string[] {
  const denies = a.candidates.filter((r) => r.effect === 'deny');
  const out: string[] = [];
  for (const rule of a.candidates) {
    if (rule.effect !== 'allow') continue;
    const open: PortRange[] = [];
    for (const range of intersectPorts(rule.ports, a.input.ports)) {
      // Between deny boundaries the answer cannot change: test one segment at a time.
      const cuts = new Set<number>([range.from, range.to + 1]);
      for (const d of denies)
        for (const p of d.ports) {
          if (p.protocol !== range.protocol) continue;
          if (p.from > range.from && p.from <= range.to) cuts.add(p.from);
          if (p.to >= range.from && p.to < range.to) cuts.add(p.to + 1);
        }
      const points = [...cuts].sort((x, y) => x - y);
      for (let k = 0; k + 1 < points.length; k++) {
        const from = points[k] as number;
        const to = (points[k + 1] as number) - 1;
        const hitting = denies.filter((d) => portsCover(d.ports, range.protocol, from, to));
        const anyLeft = a.input.destinations.some((dest) => {
          if (!ctx.resolver.covers(rule.to, dest, ctx.self)) return false;
          let left = familySet(ctx.resolver.termsSources(rule.from, ctx.self), dest.family);
          for (const d of hitting)
            if (ctx.resolver.covers(d.to, dest, ctx.self))
              left = subtract(left, familySet(ctx.resolver.termsSources(d.from, ctx.self), dest.family));
          return left.length > 0;
        });
        if (anyLeft) open.push({ protocol: range.protocol, from, to });
      }
    }
    if (open.length === 0) continue;
    const how = rule.approval === 'manual' ? ' with manual approval' : '';
    out.push(`${formatPorts(normalizePorts(open))} from ${rule.fromLabel} via rule ${rule.id}${how}`);
  }
  return out;
}

function narrowingsFor(
  ctx: EvalContext,
  a: OpeningAnalysis,
  grant: CellPick,
  primary: CompiledRule,
): Narrowing[] {
  const out: Narrowing[] = [];
  const denies = a.candidates.filter((r) => r.effect === 'deny');
  const i = a.input.index;
  const denierOf = (cells: readonly Cell[]): CompiledRule | undefined =>
    rulesMeeting(ctx, denies, cells, (c) => c.denied)[0];
  const live = a.cells.filter((c) => c.requested.length > 0);

  const grantedPorts = portsOf(live, grant);
  const ports = normalizePorts(a.input.ports);
  if (!portSetsEqual(grantedPorts, ports)) {
    const removed = subtractPorts(ports, grantedPorts);
    const removedCells = live.filter((c) => grant(c).length === 0);
    const d = denierOf(removedCells);
    const reason =
      d !== undefined
        ? `rule ${d.id} denies ${formatPorts(intersectPorts(d.ports, removed))}`
        : `no rule allows ${formatPorts(removed)} here; rule ${primary.id} allows ${formatPorts(intersectPorts(primary.ports, ports))}`;
    out.push({
      openingIndex: i,
      field: 'ports',
      requested: formatPorts(ports),
      granted: formatPorts(grantedPorts),
      ruleId: d?.id ?? primary.id,
      reason,
    });
  }

  const dests = a.input.destinations;
  const wanted = dests.map((_, k) => k).filter((k) => live.some((c) => c.destIndex === k));
  const grantedIdx = wanted.filter((k) => live.some((c) => c.destIndex === k && grant(c).length > 0));
  const addrs = (idx: readonly number[]): string => formatAddresses(idx.map((k) => dests[k] as Cidr));
  if (grantedIdx.length < wanted.length) {
    const removedIdx = wanted.filter((k) => !grantedIdx.includes(k));
    const removed = removedIdx.map((k) => dests[k] as Cidr);
    const d = denierOf(live.filter((c) => removedIdx.includes(c.destIndex)));
    const reason =
      d !== undefined
        ? `rule ${d.id} denies opening ${formatAddresses(removed)}`
        : `rule ${primary.id} covers only ${primary.toLabel}, not ${formatAddresses(removed)}`;
    out.push({
      openingIndex: i,
      field: 'destinations',
      requested: addrs(wanted),
      granted: addrs(grantedIdx),
      ruleId: d?.id ?? primary.id,
      reason,
    });
  }

  const partial = live.filter((c) => grant(c).length > 0 && !setsEqual(grant(c), c.requested));
  if (partial.length > 0) {
    const d = denierOf(partial);
    const reason =
      d !== undefined
        ? `rule ${d.id} denies sources ${grantedSources(partial, (c) => c.denied)}`
        : `rule ${primary.id} allows ${formatPorts(intersectPorts(primary.ports, ports))} only from ${primary.fromLabel}`;
    out.push({
      openingIndex: i,
      field: 'sources',
      requested: a.input.sourceLabel,
      granted: commonSources(live, grant),
      ruleId: d?.id ?? primary.id,
      reason,
    });
  }

  if (out.length === 0) {
    // Each projection is whole but the region is not: the grant differs per destination.
    const per = grantedIdx.map(
      (k) =>
        `${formatAddress(dests[k] as Cidr)}: ${formatPorts(
          portsOf(
            live.filter((c) => c.destIndex === k),
            grant,
          ),
        )}`,
    );
    const d = denierOf(live);
    out.push({
      openingIndex: i,
      field: 'ports',
      requested: formatPorts(ports),
      granted: per.join('; '),
      ruleId: d?.id ?? primary.id,
      reason: 'policy allows different ports on different destinations',
    });
  }
  return out;
}

function denied(ctx: EvalContext, a: OpeningAnalysis, why: string | undefined): OpeningVerdict {
  const name = ctx.requester.name;
  const ports = formatPorts(a.input.ports);
  const live = a.cells.filter((c) => c.requested.length > 0);
  const d = rulesMeeting(
    ctx,
    a.candidates.filter((r) => r.effect === 'deny'),
    live,
    (c) => c.denied,
  )[0];
  let ruleId = d?.id ?? DEFAULT_RULE_ID;
  let reason: string;
  if (why !== undefined) {
    ruleId = DEFAULT_RULE_ID;
    reason = why;
  } else if (d !== undefined)
    reason = `rule ${d.id} denies ${formatPorts(intersectPorts(d.ports, a.input.ports))} for ${name}`;
  else
    reason = `no rule allows ${name} to open ${ports} from ${a.input.sourceLabel} to ${formatAddresses(a.input.destinations)}`;
  return {
    decision: { openingIndex: a.input.index, outcome: 'DENIED', ruleId, reason },
    narrowings: [],
    rules: [],
    contributors: [],
    wouldAllow: residuals(ctx, a),
    requestedPorts: ports,
  };
}

export function judgeOpening(ctx: EvalContext, a: OpeningAnalysis, allOrNothing: boolean): OpeningVerdict {
  const live = a.cells.filter((c) => c.requested.length > 0);
  if (a.input.destinations.length === 0)
    return denied(ctx, a, `${ctx.requester.name} has no addresses to open`);
  if (live.length === 0) return denied(ctx, a, 'no requested source has the address family of a destination');
  const hasAuto = live.some((c) => c.auto.length > 0);
  const pending = live.some((c) => c.manual.length > 0);
  if (!hasAuto && !pending) return denied(ctx, a, undefined);

  const grant: CellPick = pending ? (c) => union(c.auto, c.manual) : (c) => c.auto;
  const allows = a.candidates.filter((r) => r.effect === 'allow');
  const autoRules = rulesMeeting(
    ctx,
    allows.filter((r) => r.approval === 'auto'),
    live,
    (c) => c.auto,
  );
  const manualRules = rulesMeeting(
    ctx,
    allows.filter((r) => r.approval === 'manual'),
    live,
    (c) => c.manual,
  );
  const contributors = pending ? [...autoRules, ...manualRules].sort((x, y) => x.index - y.index) : autoRules;
  // A pending answer is decided by the rule that needs approval; otherwise by the first granting rule.
  const primary = (pending ? manualRules[0] : autoRules[0]) as CompiledRule;
  const full = regionSize(live, grant) === regionSize(live, (c) => c.requested);
  const narrowings = full ? [] : narrowingsFor(ctx, a, grant, primary);
  const rules = concreteRules(live, grant);
  const how = pending ? ' after manual approval' : '';
  const wouldAllow = [
    `${formatPorts(portsOf(live, grant))} from ${grantedSources(live, grant)} via rule ${primary.id}${how}`,
  ];
  const target = `${formatPorts(a.input.ports)} from ${a.input.sourceLabel} to ${formatAddresses(a.input.destinations)}`;

  if (!full && allOrNothing) {
    const first = narrowings[0] as Narrowing;
    return {
      decision: {
        openingIndex: a.input.index,
        outcome: 'DENIED',
        ruleId: first.ruleId,
        reason: `all_or_nothing: ${first.reason}`,
      },
      narrowings,
      rules: [],
      contributors: [],
      wouldAllow,
      requestedPorts: formatPorts(a.input.ports),
    };
  }
  let outcome: Outcome;
  let reason: string;
  if (pending) {
    outcome = 'PENDING';
    reason = `rule ${primary.id} needs manual approval for ${target}`;
  } else if (full) {
    outcome = 'GRANTED';
    reason = `rule ${primary.id} allows ${target}`;
  } else {
    outcome = 'PARTIAL';
    reason = `rule ${primary.id} allows part of ${target}: ${narrowings.map((n) => n.reason).join('; ')}`;
  }
  if (pending && !full) reason += ` (narrowed: ${narrowings.map((n) => n.reason).join('; ')})`;
  return {
    decision: { openingIndex: a.input.index, outcome, ruleId: primary.id, reason },
    narrowings,
    rules,
    contributors,
    wouldAllow,
    requestedPorts: formatPorts(a.input.ports),
  };
}
