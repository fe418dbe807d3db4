/** `groups:`: host globs, labels, CIDRs, sites and nested groups; references checked, cycles rejected. */
import picomatch from 'picomatch';
import type { Path } from './diagnostics.js';
import { items, parsePolicyCidr, type CompileScope } from './compile-terms.js';
import type { CompiledGroup } from './model.js';
import { longLivedSets, toFamilySets, unionFamilies, type Cidr, type FamilySets } from './net.js';
import { didYouMean, type RawGroup } from './schema.js';

export interface Entry<T> {
  readonly name: string;
  readonly value: T;
  readonly path: Path;
}

export function stringLabels(
  labels: Readonly<Record<string, string | number | boolean>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) out[k] = String(v);
  return out;
}

function compileGlobs(scope: CompileScope, globs: readonly string[], path: Path): (name: string) => boolean {
  const matchers: ((name: string) => boolean)[] = [];
  globs.forEach((g, i) => {
    if (g.trim() === '') {
      scope.sink.error([...path, i], 'empty host pattern; write a name or a glob such as "web-*"');
      return;
    }
    try {
      matchers.push(picomatch(g));
    } catch (e) {
      scope.sink.error([...path, i], `invalid glob "${g}": ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  return (name) => matchers.some((m) => m(name));
}

/** Report each cycle once, at the reference that closes it. */
function checkCycles(scope: CompileScope, entries: readonly Entry<RawGroup>[]): void {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    stack.push(name);
    const e = byName.get(name);
    (e?.value.groups ?? []).forEach((next, i) => {
      const s = state.get(next);
      if (s === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(next)), next].join(' -> ');
        scope.sink.error(
          [...(e as Entry<RawGroup>).path, 'groups', i],
          `group cycle ${cycle}; remove one of these references`,
        );
      } else if (s === undefined && byName.has(next)) visit(next);
    });
    stack.pop();
    state.set(name, 'done');
  };
  for (const e of entries) if (!state.has(e.name)) visit(e.name);
}

export function compileGroups(
  scope: CompileScope,
  entries: readonly Entry<RawGroup>[],
  sites: ReadonlyMap<string, FamilySets>,
): Map<string, CompiledGroup> {
  const out = new Map<string, CompiledGroup>();
  for (const { name, value: g, path } of entries) {
    if (name === 'any' || name === 'self') {
      scope.sink.error(path, `"${name}" is a reserved word; rename the group`, true);
      continue;
    }
    const hostGlobs = g.hosts ?? [];
    const matchName = compileGlobs(scope, hostGlobs, [...path, 'hosts']);
    const cidrs: Cidr[] = [];
    for (const item of items(g.cidrs, [...path, 'cidrs'])) {
      const c = parsePolicyCidr(scope.sink, item);
      if (c !== undefined) cidrs.push(c);
    }
    let all: FamilySets = toFamilySets(cidrs);
    (g.sites ?? []).forEach((site, i) => {
      const s = sites.get(site);
      if (s !== undefined) all = unionFamilies(all, s);
      else if (!scope.siteNames.has(site))
        scope.sink.error(
          [...path, 'sites', i],
          `site "${site}" is not defined${didYouMean(site, scope.siteNames)}; define it under sites:`,
        );
    });
    (g.groups ?? []).forEach((ref, i) => {
      if (!scope.groupNames.has(ref))
        scope.sink.error(
          [...path, 'groups', i],
          `group "${ref}" is not defined${didYouMean(ref, scope.groupNames)}; define it under groups:`,
        );
    });
    const labels = stringLabels(g.labels);
    const empty =
      hostGlobs.length +
        (g.cidrs ?? []).length +
        (g.sites ?? []).length +
        (g.groups ?? []).length +
        Object.keys(labels).length ===
      0;
    if (empty)
      scope.sink.warning(path, 'group has no members; add hosts, labels, cidrs, sites or groups', true);
    out.set(name, {
      name,
      hostGlobs,
      matchName,
      labels,
      sites: g.sites ?? [],
      cidrs: longLivedSets(all),
      groups: g.groups ?? [],
    });
  }
  checkCycles(scope, entries);
  return out;
}
