/**
 * Policy test cases (`pinhole policy test POLICY CASES`): each case is a request and the decision
 * policy must give. A list, or `{ cases: [...] }`:
 *
 *   - name: web-1 reaches its cache from the db subnet
 *     as: host/web-1
 *     addresses: [198.18.0.2]       # default: the inventory's addresses
 *     open: tcp/5432                # or an app id, or a list (one opening each)
 *     from: [198.18.1.0/24]         # any, CIDR, group:NAME, host:NAME; default any
 *     ttl: 10m
 *     all_or_nothing: false
 *     at: 2031-01-01T00:00:00Z      # evaluation time; default now
 *     expect: { decision: GRANTED, rule: web-cache-replication }
 *
 * `expect` may also give `ttl`, `narrowed` (fields), `rules` (exact concrete rules, as printed),
 * `reason` and `would_allow` (substrings; `would_allow: ''` means nothing would be allowed).
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import type { Decision } from '../core/types.js';
import { formatConcrete } from './describe.js';
import { DiagnosticSink, NO_LOCATION, yamlLocator, type Diagnostic } from './diagnostics.js';
import { parseDuration } from './durations.js';
import { PolicyEngine } from './engine.js';
import { buildRequest, inventoryDirectory } from './request-spec.js';
import { parseEntry } from './schema.js';

const list = z.union([z.string(), z.array(z.string())]);

const CaseSchema = z.strictObject({
  name: z.string(),
  as: z.string(),
  addresses: z.array(z.string()).optional(),
  open: list,
  from: list.optional(),
  to: z.array(z.string()).optional(),
  ttl: z.string().optional(),
  all_or_nothing: z.boolean().optional(),
  at: z.union([z.string(), z.date()]).optional(),
  expect: z.strictObject({
    decision: z.enum(['GRANTED', 'PARTIAL', 'PENDING', 'DENIED']),
    rule: z.string().optional(),
    ttl: z.string().optional(),
    narrowed: z.array(z.enum(['sources', 'ports', 'destinations', 'ttl'])).optional(),
    rules: z.array(z.string()).optional(),
    reason: z.string().optional(),
    would_allow: z.string().optional(),
  }),
});

export type PolicyTestCase = z.infer<typeof CaseSchema>;

export interface CaseResult {
  readonly name: string;
  readonly passed: boolean;
  /** What differed, one line each; empty when passed. */
  readonly problems: readonly string[];
  readonly decision?: Decision;
}

export type LoadCasesResult =
  | { readonly ok: true; readonly cases: readonly PolicyTestCase[] }
  | { readonly ok: false; readonly errors: readonly Diagnostic[] };

export async function loadCases(path: string): Promise<LoadCasesResult> {
  const text = await readFile(path, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const sink = new DiagnosticSink(path, doc.errors.length > 0 ? NO_LOCATION : yamlLocator(doc, lines));
  for (const e of doc.errors) {
    const at = lines.linePos(e.pos[0]); // error.linePos is only filled in with prettyErrors
    sink.errorAt(at.line, at.col, `YAML syntax: ${e.message.split('\n')[0] ?? e.message}`);
  }
  if (sink.errors.length > 0) return { ok: false, errors: sink.errors };
  const data: unknown = doc.toJS({ maxAliasCount: 1000 });
  const wrapped = typeof data === 'object' && data !== null && !Array.isArray(data);
  const raw: unknown = wrapped ? (data as Record<string, unknown>)['cases'] : data;
  const prefix = wrapped ? ['cases'] : [];
  if (!Array.isArray(raw)) {
    sink.error(prefix, 'expected a list of test cases (or cases: [...])');
    return { ok: false, errors: sink.errors };
  }
  const cases: PolicyTestCase[] = [];
  (raw as unknown[]).forEach((value, i) => {
    const c = parseEntry(sink, [...prefix, i], CaseSchema, value);
    if (c !== undefined) cases.push(c);
  });
  return sink.errors.length > 0 ? { ok: false, errors: sink.errors } : { ok: true, cases };
}

const asList = (v: string | readonly string[] | undefined): readonly string[] | undefined =>
  v === undefined ? undefined : typeof v === 'string' ? [v] : v;

export function runCase(engine: PolicyEngine, c: PolicyTestCase, fallbackNowMs: number): CaseResult {
  let built;
  let nowMs = fallbackNowMs;
  try {
    if (c.at !== undefined) nowMs = c.at instanceof Date ? c.at.getTime() : Date.parse(c.at);
    if (Number.isNaN(nowMs)) throw new Error(`at: "${String(c.at)}" is not an ISO date`);
    const from = asList(c.from);
    built = buildRequest(
      engine.policy,
      {
        as: c.as,
        open: asList(c.open) ?? [],
        ...(c.addresses === undefined ? {} : { addresses: c.addresses }),
        ...(from === undefined ? {} : { from }),
        ...(c.to === undefined ? {} : { to: c.to }),
        ...(c.ttl === undefined ? {} : { ttl: c.ttl }),
        ...(c.all_or_nothing === undefined ? {} : { allOrNothing: c.all_or_nothing }),
      },
      `test:${c.name}`,
    );
  } catch (e) {
    return { name: c.name, passed: false, problems: [e instanceof Error ? e.message : String(e)] };
  }
  let decision: Decision;
  try {
    decision = engine.decide(
      built.requester,
      built.request,
      inventoryDirectory(engine.policy, built.requester),
      nowMs,
    );
  } catch (e) {
    return {
      name: c.name,
      passed: false,
      problems: [`decide failed: ${e instanceof Error ? e.message : String(e)}`],
    };
  }
  const problems: string[] = [];
  const x = c.expect;
  if (decision.outcome !== x.decision)
    problems.push(`decision: expected ${x.decision}, got ${decision.outcome} (${decision.reason})`);
  if (x.rule !== undefined && decision.ruleId !== x.rule)
    problems.push(`rule: expected ${x.rule}, got ${decision.ruleId}`);
  if (x.ttl !== undefined) {
    const want = parseDuration(x.ttl);
    if (want !== decision.ttlSeconds) problems.push(`ttl: expected ${x.ttl}, got ${decision.ttlSeconds}s`);
  }
  if (x.narrowed !== undefined) {
    const got = [...new Set(decision.narrowings.map((n) => n.field))].sort();
    const want = [...new Set(x.narrowed)].sort();
    if (got.join(',') !== want.join(','))
      problems.push(`narrowed: expected [${want.join(', ')}], got [${got.join(', ')}]`);
  }
  if (x.rules !== undefined) {
    const got = decision.rules.map(formatConcrete).sort();
    const want = [...x.rules].sort();
    if (got.join('\n') !== want.join('\n'))
      problems.push(`rules: expected [${want.join('; ')}], got [${got.join('; ')}]`);
  }
  if (x.reason !== undefined && !decision.reason.includes(x.reason))
    problems.push(`reason: expected to contain "${x.reason}", got "${decision.reason}"`);
  // An empty would_allow means "nothing would be allowed", not "any text".
  const wouldAllowOk =
    x.would_allow === '' ? decision.wouldAllow === '' : decision.wouldAllow.includes(x.would_allow ?? '');
  if (x.would_allow !== undefined && !wouldAllowOk)
    problems.push(`would_allow: expected to contain "${x.would_allow}", got "${decision.wouldAllow}"`);
  return { name: c.name, passed: problems.length === 0, problems, decision };
}
