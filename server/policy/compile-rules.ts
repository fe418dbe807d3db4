/** `rules:`: ids, requesters, open, from, to, max_ttl, approval, effect, expires. */
import type { Path } from './diagnostics.js';
import {
  describeTerm,
  items,
  parseAddressTerm,
  parseOpen,
  parseRequesters,
  type CompileScope,
} from './compile-terms.js';
import { parseDuration } from './durations.js';
import { DEFAULT_RULE_ID, type CompiledRule, type Term } from './model.js';
import { longLivedPorts } from './ports.js';
import { NAME, NAME_HINT, type RawRule } from './schema.js';

export interface RuleEntry {
  readonly value: RawRule;
  readonly path: Path;
  /** Position in the file. */
  readonly position: number;
}

/** Duplicate ids are checked on every entry with a string id, even ones with other errors. */
export function checkRuleIds(scope: CompileScope, raw: readonly unknown[]): void {
  const first = new Map<string, number>();
  raw.forEach((r, i) => {
    if (typeof r !== 'object' || r === null) return;
    const id: unknown = (r as Record<string, unknown>)['id'];
    if (typeof id !== 'string') return;
    const path: Path = ['rules', i, 'id'];
    if (!NAME.test(id)) scope.sink.error(path, `rule id "${id}" is not a valid id; ${NAME_HINT}`);
    else if (id === DEFAULT_RULE_ID)
      scope.sink.error(path, `"${DEFAULT_RULE_ID}" is reserved for the implicit final deny; rename the rule`);
    const prev = first.get(id);
    if (prev !== undefined)
      scope.sink.error(
        path,
        `duplicate rule id "${id}" (first used by rules[${prev}]); rule ids must be unique`,
      );
    else first.set(id, i);
  });
}

function terms(
  scope: CompileScope,
  value: string | readonly string[] | undefined,
  path: Path,
  place: 'from' | 'to',
): Term[] {
  const out: Term[] = [];
  const list = items(value, path);
  if (value !== undefined && list.length === 0)
    scope.sink.error(path, `must not be empty; list at least one entry, or write [any]`);
  for (const item of list) {
    const t = parseAddressTerm(scope, item, place);
    if (t !== undefined) out.push(t);
  }
  return out;
}

function parseExpires(scope: CompileScope, value: string | Date, path: Path): number | undefined {
  const ms =
    value instanceof Date ? value.getTime() : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    scope.sink.error(
      path,
      `"${String(value)}" is not an ISO date; write e.g. 2026-06-30 or 2026-06-30T18:00:00Z`,
    );
    return undefined;
  }
  return ms;
}

export function compileRule(scope: CompileScope, entry: RuleEntry): CompiledRule {
  const { value: r, path } = entry;
  const effect = r.effect ?? 'allow';
  if (effect === 'deny') {
    if (r.approval !== undefined)
      scope.sink.error([...path, 'approval'], 'has no effect on a deny rule; remove it', true);
    if (r.max_ttl !== undefined)
      scope.sink.error([...path, 'max_ttl'], 'has no effect on a deny rule; remove it', true);
  } else if (r.from === undefined) {
    scope.sink.error(
      path,
      'an allow rule needs from:; list the sources, or write from: [any] to allow every source',
    );
  }
  const requesterItems = items(r.requesters, [...path, 'requesters']);
  if (requesterItems.length === 0)
    scope.sink.error([...path, 'requesters'], 'must not be empty; list groups, hosts or any');
  const requesters = parseRequesters(scope, requesterItems);
  const openItems = items(r.open, [...path, 'open']);
  if (openItems.length === 0)
    scope.sink.error([...path, 'open'], 'must not be empty; list app ids or PROTO/PORT specs');
  const ports = parseOpen(scope, openItems);
  const from = terms(scope, r.from ?? 'any', [...path, 'from'], 'from');
  // `to` defaults to the requester's own addresses for allow rules (a host opens itself), and to every
  // destination for deny rules (a deny should not be escapable by asking for a third party).
  const to = terms(scope, r.to ?? (effect === 'allow' ? 'self' : 'any'), [...path, 'to'], 'to');
  let maxTtlSeconds: number | undefined;
  if (r.max_ttl !== undefined && effect === 'allow') {
    const d = parseDuration(r.max_ttl);
    if (typeof d === 'string') scope.sink.error([...path, 'max_ttl'], d);
    else maxTtlSeconds = d;
  }
  const expiresAtMs =
    r.expires === undefined ? undefined : parseExpires(scope, r.expires, [...path, 'expires']);
  return {
    index: entry.position,
    id: r.id,
    effect,
    approval: r.approval ?? 'auto',
    requesters,
    ports: longLivedPorts(ports),
    openLabel: openItems.map((i) => i.text).join(', '),
    from,
    fromLabel: from.map(describeTerm).join(', '),
    to,
    toLabel: to.map(describeTerm).join(', '),
    ...(maxTtlSeconds === undefined ? {} : { maxTtlSeconds }),
    ...(expiresAtMs === undefined ? {} : { expiresAtMs }),
    description: r.description ?? '',
  };
}
