/**
 * From a parsed document (plain data) to a CompiledPolicy, collecting every error: structure per entry
 * with zod (schema.ts), then formats and references. An entry with structural errors is left out of the
 * reference checks (its name still counts as defined, so references to it are not reported twice).
 */
import type { PolicyDefaults } from './api.js';
import { compileGroups, stringLabels, type Entry } from './compile-groups.js';
import { checkRuleIds, compileRule, type RuleEntry } from './compile-rules.js';
import { items, parsePolicyCidr, type CompileScope } from './compile-terms.js';
import { DEFAULT_CATALOG } from './default-catalog.js';
import { DiagnosticSink, sortDiagnostics, type Diagnostic, type Locator, type Path } from './diagnostics.js';
import { parseDuration } from './durations.js';
import { lintPolicy } from './lint.js';
import {
  BUILTIN_DEFAULTS,
  type AppEntry,
  type CompiledEnforcer,
  type CompiledPolicy,
  type CompiledRule,
  type InventoryHost,
} from './model.js';
import {
  formatAddress,
  longLivedSets,
  parseAddress,
  toFamilySets,
  type Cidr,
  type FamilySets,
} from './net.js';
import { longLivedPorts, normalizePorts, parsePortSpec } from './ports.js';
import type { PortRange } from '../core/types.js';
import {
  AppSchema,
  DefaultsSchema,
  EnforcerSchema,
  GroupSchema,
  HostSchema,
  NAME,
  NAME_HINT,
  RuleSchema,
  SiteSchema,
  TOP_LEVEL_KEYS,
  didYouMean,
  parseEntry,
  type RawDefaults,
} from './schema.js';
import type { z } from 'zod';

export type PolicyLoadResult =
  | { readonly ok: true; readonly policy: CompiledPolicy; readonly warnings: readonly Diagnostic[] }
  | { readonly ok: false; readonly errors: readonly Diagnostic[]; readonly warnings: readonly Diagnostic[] };

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** A `name: entry` section: every entry parsed with `schema`; names checked. */
function mapSection<T>(
  sink: DiagnosticSink,
  raw: unknown,
  key: string,
  schema: z.ZodType<T>,
): { entries: Entry<T>[]; names: Set<string> } {
  const entries: Entry<T>[] = [];
  const names = new Set<string>();
  if (raw === undefined || raw === null) return { entries, names };
  if (!isMapping(raw)) {
    sink.error([key], `expected a mapping of name: entry`);
    return { entries, names };
  }
  for (const [name, value] of Object.entries(raw)) {
    const path: Path = [key, name];
    names.add(name);
    if (!NAME.test(name)) sink.error(path, `"${name}" is not a valid name; ${NAME_HINT}`, true);
    const parsed = parseEntry(sink, path, schema, value);
    if (parsed !== undefined) entries.push({ name, value: parsed, path });
  }
  return { entries, names };
}

function compileDefaults(sink: DiagnosticSink, raw: RawDefaults | undefined): PolicyDefaults {
  const pick = (key: keyof RawDefaults, fallback: number): number => {
    const text = raw?.[key];
    if (text === undefined) return fallback;
    const d = parseDuration(text);
    if (typeof d === 'string') {
      sink.error(['defaults', key], d);
      return fallback;
    }
    return d;
  };
  const b = BUILTIN_DEFAULTS;
  const out: PolicyDefaults = {
    ttlSeconds: pick('ttl', b.ttlSeconds),
    minTtlSeconds: pick('min_ttl', b.minTtlSeconds),
    maxTtlSeconds: pick('max_ttl', b.maxTtlSeconds),
    maxLifetimeSeconds: pick('max_lifetime', b.maxLifetimeSeconds),
  };
  if (out.minTtlSeconds > out.ttlSeconds)
    sink.error(['defaults', 'min_ttl'], 'is longer than ttl; min_ttl <= ttl <= max_ttl <= max_lifetime');
  if (out.ttlSeconds > out.maxTtlSeconds)
    sink.error(['defaults', 'ttl'], 'is longer than max_ttl; min_ttl <= ttl <= max_ttl <= max_lifetime');
  if (out.maxTtlSeconds > out.maxLifetimeSeconds)
    sink.error(
      ['defaults', 'max_ttl'],
      'is longer than max_lifetime; min_ttl <= ttl <= max_ttl <= max_lifetime',
    );
  return out;
}

function compileSites(sink: DiagnosticSink, entries: readonly Entry<string[]>[]): Map<string, FamilySets> {
  const out = new Map<string, FamilySets>();
  for (const { name, value, path } of entries) {
    const cidrs: Cidr[] = [];
    for (const item of items(value, path)) {
      const c = parsePolicyCidr(sink, item);
      if (c !== undefined) cidrs.push(c);
    }
    out.set(name, longLivedSets(toFamilySets(cidrs)));
  }
  return out;
}

function compileHosts(
  scope: CompileScope,
  entries: readonly Entry<z.infer<typeof HostSchema>>[],
): Map<string, InventoryHost> {
  const out = new Map<string, InventoryHost>();
  for (const { name, value: h, path } of entries) {
    if (h.site !== undefined && !scope.siteNames.has(h.site))
      scope.sink.error(
        [...path, 'site'],
        `site "${h.site}" is not defined${didYouMean(h.site, scope.siteNames)}; define it under sites:`,
      );
    const addresses: string[] = [];
    for (const item of items(h.addresses, [...path, 'addresses'])) {
      const a = parseAddress(item.text);
      if (a === null)
        scope.sink.error(
          item.path,
          `"${item.text}" is not an IP address; write one address without a prefix`,
        );
      else addresses.push(formatAddress(a));
    }
    out.set(name, {
      name,
      labels: stringLabels(h.labels),
      ...(h.site === undefined ? {} : { site: h.site }),
      addresses,
    });
  }
  return out;
}

function compileApps(
  sink: DiagnosticSink,
  entries: readonly Entry<z.infer<typeof AppSchema>>[],
): Map<string, AppEntry> {
  const out = new Map<string, AppEntry>();
  for (const [id, e] of Object.entries(DEFAULT_CATALOG)) {
    const ports = e.ports.map(parsePortSpec).filter((p): p is PortRange => typeof p !== 'string');
    out.set(id, { id, ports: longLivedPorts(normalizePorts(ports)), description: e.description });
  }
  // Policy entries override the catalog entry with the same id: a site may run postgresql on 5433.
  for (const { name, value, path } of entries) {
    const ports: PortRange[] = [];
    value.ports.forEach((spec, i) => {
      const p = parsePortSpec(spec);
      if (typeof p === 'string') sink.error([...path, 'ports', i], p);
      else ports.push(p);
    });
    out.set(name, {
      id: name,
      ports: longLivedPorts(normalizePorts(ports)),
      description: value.description ?? '',
    });
  }
  return out;
}

function compileEnforcers(
  scope: CompileScope,
  entries: readonly Entry<z.infer<typeof EnforcerSchema>>[],
): Map<string, CompiledEnforcer> {
  const out = new Map<string, CompiledEnforcer>();
  for (const { name, value: e, path } of entries) {
    const w = e.watches;
    const all = w.all === true;
    const hosts = w.hosts ?? [];
    const groups = w.groups ?? [];
    if (all && hosts.length + groups.length > 0)
      scope.sink.error(
        [...path, 'watches'],
        'all: true already covers every lease; remove hosts/groups or all',
      );
    if (!all && hosts.length + groups.length === 0)
      scope.sink.error([...path, 'watches'], 'watches nothing; write all: true or list hosts and/or groups');
    groups.forEach((g, i) => {
      if (!scope.groupNames.has(g))
        scope.sink.error(
          [...path, 'watches', 'groups', i],
          `group "${g}" is not defined${didYouMean(g, scope.groupNames)}; define it under groups:`,
        );
    });
    // A firewall that watches only named hosts sits on those hosts; anything broader is a gateway.
    const mode = e.mode ?? (!all && groups.length === 0 ? 'host' : 'gateway');
    out.set(name, { name, all, hosts, groups, mode });
  }
  return out;
}

export interface CompileOptions {
  /** Clock for load-time warnings (expired rules). */
  readonly nowMs?: number;
}

export function compilePolicyData(
  raw: unknown,
  fileName: string,
  locator: Locator,
  options: CompileOptions = {},
): PolicyLoadResult {
  const sink = new DiagnosticSink(fileName, locator);
  const done = (): PolicyLoadResult => ({
    ok: false,
    errors: sortDiagnostics(sink.errors),
    warnings: sortDiagnostics(sink.warnings),
  });
  if (raw === undefined || raw === null) {
    sink.error([], 'the policy is empty; add rules: (without rules every request is denied)');
    return done();
  }
  if (!isMapping(raw)) {
    sink.error([], 'expected a mapping with keys defaults, sites, hosts, groups, apps, rules, enforcers');
    return done();
  }
  for (const key of Object.keys(raw))
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key))
      sink.error(
        [key],
        `unknown key "${key}"${didYouMean(key, TOP_LEVEL_KEYS)}; allowed keys: ${TOP_LEVEL_KEYS.join(', ')}`,
        true,
      );

  const rawDefaults =
    raw['defaults'] === undefined
      ? undefined
      : parseEntry(sink, ['defaults'], DefaultsSchema, raw['defaults']);
  const defaults = compileDefaults(sink, rawDefaults);
  const sitesSec = mapSection(sink, raw['sites'], 'sites', SiteSchema);
  const hostsSec = mapSection(sink, raw['hosts'], 'hosts', HostSchema);
  const groupsSec = mapSection(sink, raw['groups'], 'groups', GroupSchema);
  const appsSec = mapSection(sink, raw['apps'], 'apps', AppSchema);
  const enforcersSec = mapSection(sink, raw['enforcers'], 'enforcers', EnforcerSchema);

  const sites = compileSites(sink, sitesSec.entries);
  const apps = compileApps(sink, appsSec.entries);
  const scope: CompileScope = {
    sink,
    groupNames: groupsSec.names,
    siteNames: sitesSec.names,
    hostNames: hostsSec.names,
    apps,
  };
  const hosts = compileHosts(scope, hostsSec.entries);
  const groups = compileGroups(scope, groupsSec.entries, sites);
  const enforcers = compileEnforcers(scope, enforcersSec.entries);

  const rules: CompiledRule[] = [];
  const rawRules = raw['rules'];
  if (rawRules === undefined || rawRules === null)
    sink.warning([], 'no rules: every request will be denied (default-deny)');
  else if (!Array.isArray(rawRules))
    sink.error(['rules'], 'expected a list of rules (each item starts with "- id:")');
  else {
    const list: readonly unknown[] = rawRules;
    checkRuleIds(scope, list);
    list.forEach((value, position) => {
      const path: Path = ['rules', position];
      const parsed = parseEntry(sink, path, RuleSchema, value);
      if (parsed !== undefined)
        rules.push(compileRule(scope, { value: parsed, path, position } satisfies RuleEntry));
    });
  }
  if (sink.errors.length > 0) return done();

  const policy: CompiledPolicy = {
    fileName,
    defaults,
    sites,
    hosts,
    groups,
    apps,
    rules,
    ruleById: new Map(rules.map((r) => [r.id, r])),
    enforcers,
  };
  lintPolicy(policy, sink, options.nowMs ?? Date.now());
  return { ok: true, policy, warnings: sortDiagnostics(sink.warnings) };
}
