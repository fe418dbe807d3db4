/**
 * Warnings for a valid policy: rules that can never match (a deny covers them completely: deny wins
 * regardless of order), allow rules open to any source, rules already expired, rule max_ttl above the
 * policy-wide bound. Coverage is judged statically and conservatively (same group names, CIDR
 * containment), so a warning is always true; some dead rules may go unreported.
 */
import type { DiagnosticSink } from './diagnostics.js';
import { formatDuration } from './durations.js';
import { IntervalTree } from './interval-tree.js';
import type { CompiledPolicy, CompiledRule, Term } from './model.js';
import { contains } from './net.js';
import { portsCover } from './ports.js';
import type { Protocol } from '../core/types.js';

function termCovered(t: Term, by: readonly Term[]): boolean {
  if (by.some((b) => b.kind === 'any')) return true;
  switch (t.kind) {
    case 'any':
      return false;
    case 'self':
      return by.some((b) => b.kind === 'self');
    case 'cidr':
      return by.some((b) => b.kind === 'cidr' && contains(b.cidr, t.cidr));
    case 'group':
      return by.some((b) => b.kind === 'group' && b.name === t.name);
    case 'host':
      return by.some((b) => b.kind === 'host' && b.name === t.name);
  }
}

function covers(d: CompiledRule, r: CompiledRule): boolean {
  const dr = d.requesters;
  const rr = r.requesters;
  const requesters =
    dr.any ||
    (!rr.any && [...rr.hosts].every((h) => dr.hosts.has(h)) && rr.groups.every((g) => dr.groups.includes(g)));
  return (
    requesters &&
    r.ports.every((p) => portsCover(d.ports, p.protocol, p.from, p.to)) &&
    r.from.every((t) => termCovered(t, d.from)) &&
    r.to.every((t) => termCovered(t, d.to))
  );
}

export function lintPolicy(policy: CompiledPolicy, sink: DiagnosticSink, nowMs: number): void {
  // Only permanent denies shadow: one with `expires` stops covering when it lapses.
  const denies = policy.rules.filter((r) => r.effect === 'deny' && r.expiresAtMs === undefined);
  const trees = new Map<Protocol, IntervalTree<CompiledRule>>();
  for (const proto of ['tcp', 'udp', 'sctp'] as const) {
    const list = denies.flatMap((d) =>
      d.ports.filter((p) => p.protocol === proto).map((p) => ({ from: p.from, to: p.to, value: d })),
    );
    trees.set(proto, new IntervalTree(list));
  }
  for (const r of policy.rules) {
    const path = ['rules', r.index];
    if (r.expiresAtMs !== undefined && r.expiresAtMs <= nowMs)
      sink.warning(
        [...path, 'expires'],
        `rule expired at ${new Date(r.expiresAtMs).toISOString()} and is ignored; remove it or move the date`,
      );
    if (r.effect === 'allow' && r.from.some((t) => t.kind === 'any'))
      sink.warning(
        [...path, 'from'],
        `allow rule ${r.id} is open to any source; narrow from: to the clients that need it`,
      );
    if (r.maxTtlSeconds !== undefined && r.maxTtlSeconds > policy.defaults.maxTtlSeconds)
      sink.warning(
        [...path, 'max_ttl'],
        `max_ttl ${formatDuration(r.maxTtlSeconds)} exceeds defaults.max_ttl ${formatDuration(policy.defaults.maxTtlSeconds)}; the lower bound applies`,
      );
    const first = r.ports[0];
    if (first === undefined) continue;
    const found: CompiledRule[] = [];
    trees.get(first.protocol)?.query(first.from, first.to, (d) => found.push(d));
    const shadow = found
      .filter((d) => d !== r && (r.effect === 'allow' || d.index < r.index) && covers(d, r))
      .sort((a, b) => a.index - b.index)[0];
    if (shadow === undefined) continue;
    const message =
      r.effect === 'allow'
        ? `rule ${r.id} can never match: deny rule ${shadow.id} covers it completely (deny wins over allow, whatever the order)`
        : `rule ${r.id} can never decide: the earlier deny rule ${shadow.id} covers it completely`;
    sink.warning(path, message);
  }
}
