/**
 * References inside rules: requesters, `from`, `to`. A bare name is a group (or, for requesters, an
 * inventory host); `host:NAME` is a host, `group:NAME` a group, `any` every source, `self` the
 * requester's own addresses (only in `to`), anything with a `/` or an address a CIDR. A bare name that is
 * neither a group nor an inventory host is an error, not a silent host name: typos must not widen or
 * narrow policy unnoticed.
 */
import type { DiagnosticSink, Path } from './diagnostics.js';
import type { AppEntry, Term } from './model.js';
import { formatCidr, parseCidr, type Cidr } from './net.js';
import { parsePortSpec, looksLikePortSpec, normalizePorts, type PortSet } from './ports.js';
import type { PortRange } from '../core/types.js';
import { didYouMean, NAME, NAME_HINT } from './schema.js';

export interface CompileScope {
  readonly sink: DiagnosticSink;
  /** Every defined group name, including entries with structural errors (already reported). */
  readonly groupNames: ReadonlySet<string>;
  readonly siteNames: ReadonlySet<string>;
  readonly hostNames: ReadonlySet<string>;
  readonly apps: ReadonlyMap<string, AppEntry>;
}

export interface Item {
  readonly text: string;
  readonly path: Path;
}

/** A `string | string[]` field as items with their own paths. */
export function items(value: string | readonly string[] | undefined, path: Path): Item[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return [{ text: value, path }];
  return value.map((text, i) => ({ text, path: [...path, i] }));
}

function looksLikeAddress(text: string): boolean {
  return (
    text.includes('/') || /^\d+\.\d+\.\d+\.\d+$/.test(text) || (text.includes(':') && !/^[a-z]+:/.test(text))
  );
}

/** Parse a CIDR or address written in policy; host bits set are an error (usually a typo). */
export function parsePolicyCidr(sink: DiagnosticSink, item: Item): Cidr | undefined {
  const c = parseCidr(item.text);
  if (c === null) {
    sink.error(
      item.path,
      `"${item.text}" is not a valid CIDR; write ADDRESS/PREFIX, e.g. 198.18.9.0/24 or 2001:db8::/48`,
    );
    return undefined;
  }
  const slash = item.text.indexOf('/');
  if (slash >= 0) {
    const given = parseCidr(item.text.slice(0, slash));
    if (given !== null && given.start !== c.start) {
      sink.error(item.path, `"${item.text}" has host bits set; write the network address ${formatCidr(c)}`);
      return undefined;
    }
  }
  return c;
}

function groupRef(scope: CompileScope, name: string, item: Item, extra: string): Term | undefined {
  if (scope.groupNames.has(name)) return { kind: 'group', name };
  scope.sink.error(
    item.path,
    `group "${name}" is not defined${didYouMean(name, scope.groupNames)}; define it under groups:${extra}`,
  );
  return undefined;
}

function hostRef(scope: CompileScope, name: string, item: Item): Term | undefined {
  if (NAME.test(name)) return { kind: 'host', name };
  scope.sink.error(item.path, `"${name}" is not a host name; ${NAME_HINT}`);
  return undefined;
}

/** One entry of `from` or `to`. */
export function parseAddressTerm(scope: CompileScope, item: Item, place: 'from' | 'to'): Term | undefined {
  const t = item.text.trim();
  if (t === 'any') return { kind: 'any' };
  if (t === 'self') {
    if (place === 'to') return { kind: 'self' };
    scope.sink.error(item.path, '"self" is only meaningful in to:; in from:, name the sources');
    return undefined;
  }
  if (t.startsWith('host:')) return hostRef(scope, t.slice(5), item);
  if (t.startsWith('group:')) return groupRef(scope, t.slice(6), item, '');
  if (looksLikeAddress(t)) {
    const cidr = parsePolicyCidr(scope.sink, item);
    return cidr === undefined ? undefined : { kind: 'cidr', cidr };
  }
  return groupRef(scope, t, item, ', or write host:NAME or a CIDR');
}

export interface Requesters {
  readonly any: boolean;
  readonly hosts: Set<string>;
  readonly groups: string[];
}

export function parseRequesters(scope: CompileScope, list: readonly Item[]): Requesters {
  let any = false;
  const out = { hosts: new Set<string>(), groups: [] as string[] };
  for (const item of list) {
    const t = item.text.trim();
    if (t === 'any') any = true;
    else if (t.startsWith('host:')) {
      const h = hostRef(scope, t.slice(5), item);
      if (h?.kind === 'host') out.hosts.add(h.name);
    } else if (t.startsWith('group:') || scope.groupNames.has(t)) {
      const g = groupRef(scope, t.startsWith('group:') ? t.slice(6) : t, item, '');
      if (g?.kind === 'group') out.groups.push(g.name);
    } else if (scope.hostNames.has(t)) out.hosts.add(t);
    else
      scope.sink.error(
        item.path,
        `"${t}" is neither a group nor an inventory host${didYouMean(t, [...scope.groupNames, ...scope.hostNames])}; define it under groups: or hosts:, or write host:${t}`,
      );
  }
  return { any, ...out };
}

/** `open:` entries: app ids or port specs. */
export function parseOpen(scope: CompileScope, list: readonly Item[]): PortSet {
  const ranges: PortRange[] = [];
  for (const item of list) {
    const t = item.text.trim();
    if (looksLikePortSpec(t)) {
      const r = parsePortSpec(t);
      if (typeof r === 'string') scope.sink.error(item.path, r);
      else ranges.push(r);
      continue;
    }
    const app = scope.apps.get(t);
    if (app === undefined)
      scope.sink.error(
        item.path,
        `app "${t}" is not in the catalog${didYouMean(t, scope.apps.keys())}; define it under apps: or write PROTO/PORT, e.g. tcp/5432`,
      );
    else ranges.push(...app.ports);
  }
  return normalizePorts(ranges);
}

export function describeTerm(t: Term): string {
  switch (t.kind) {
    case 'any':
      return 'any';
    case 'self':
      return 'self';
    case 'cidr':
      return formatCidr(t.cidr);
    case 'group':
      return `group ${t.name}`;
    case 'host':
      return `host ${t.name}`;
  }
}
