/**
 * `pinhole policy check|test|explain`: validate a policy file, run policy test cases, explain one
 * decision. No side effects and no server: the host directory is the policy's own inventory. Exit
 * codes go through process.exitCode so the caller (pinhole.ts main) decides when the process ends.
 */
import type { Command } from 'commander';
import type { Decision } from '../core/types.js';
import { formatConcrete } from '../policy/describe.js';
import { formatDiagnostic, type Diagnostic } from '../policy/diagnostics.js';
import { formatDuration } from '../policy/durations.js';
import { PolicyEngine } from '../policy/engine.js';
import type { TraceEntry } from '../policy/explain.js';
import { loadPolicyFile } from '../policy/loader.js';
import { buildRequest, inventoryDirectory, type HumanRequest } from '../policy/request-spec.js';
import { loadCases, runCase } from '../policy/test-cases.js';

export type Write = (line: string) => void;

const stdout: Write = (line) => process.stdout.write(`${line}\n`);

function printDiagnostics(write: Write, list: readonly Diagnostic[]): void {
  for (const d of list) write(`${d.severity}: ${formatDiagnostic(d)}`);
}

/** Exit code: 0 valid (warnings allowed), 1 invalid. */
export async function runPolicyCheck(file: string, write: Write = stdout): Promise<number> {
  const r = await loadPolicyFile(file);
  if (!r.ok) printDiagnostics(write, r.errors);
  printDiagnostics(write, r.warnings);
  if (!r.ok) {
    write(`${file}: ${r.errors.length} error(s), ${r.warnings.length} warning(s)`);
    return 1;
  }
  const p = r.policy;
  write(
    `${file}: ok: ${p.rules.length} rules, ${p.groups.size} groups, ${p.enforcers.size} enforcers, ${r.warnings.length} warning(s)`,
  );
  return 0;
}

async function loadEngine(file: string, write: Write): Promise<PolicyEngine | undefined> {
  const r = await loadPolicyFile(file);
  if (r.ok) return new PolicyEngine(r.policy);
  printDiagnostics(write, r.errors);
  write(`${file}: invalid policy; run pinhole policy check ${file}`);
  return undefined;
}

/** Exit code: 0 when every case passes. */
export async function runPolicyTest(
  file: string,
  casesFile: string,
  write: Write = stdout,
  nowMs: number = Date.now(),
): Promise<number> {
  const engine = await loadEngine(file, write);
  if (engine === undefined) return 1;
  const loaded = await loadCases(casesFile);
  if (!loaded.ok) {
    printDiagnostics(write, loaded.errors);
    return 1;
  }
  let passed = 0;
  let failed = 0;
  for (const c of loaded.cases) {
    const r = runCase(engine, c, nowMs);
    if (r.passed) {
      passed++;
      write(`PASS ${r.name}`);
    } else {
      failed++;
      write(`FAIL ${r.name}`);
      for (const p of r.problems) write(`     ${p}`);
    }
  }
  write(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

export function formatDecision(d: Decision, trace: readonly TraceEntry[] = []): string[] {
  const out = [`decision: ${d.outcome}`, `rule:     ${d.ruleId}`, `reason:   ${d.reason}`];
  if (d.outcome !== 'DENIED')
    out.push(
      `ttl:      ${formatDuration(d.ttlSeconds)} (renewable up to ${formatDuration(d.maxLifetimeSeconds)})`,
    );
  if (d.rules.length > 0)
    out.push(
      d.outcome === 'PENDING' ? 'proposed rules:' : 'rules:',
      ...d.rules.map((r) => `  ${formatConcrete(r)}`),
    );
  if (d.narrowings.length > 0)
    out.push(
      'narrowings:',
      ...d.narrowings.map(
        (n) =>
          `  [opening ${n.openingIndex}] ${n.field}: requested ${n.requested}; granted ${n.granted} (rule ${n.ruleId}: ${n.reason})`,
      ),
    );
  if (d.wouldAllow !== '') out.push(`would allow: ${d.wouldAllow}`);
  if (trace.length > 0) {
    out.push('trace:');
    for (const t of trace) {
      const who = t.ruleId === '' ? '' : ` ${t.ruleId}${t.effect === undefined ? '' : ` (${t.effect})`}`;
      out.push(`  [opening ${t.openingIndex}] ${t.verdict}${who}: ${t.reason}`);
    }
  }
  return out;
}

export interface ExplainOptions {
  readonly as: string;
  readonly address?: readonly string[];
  readonly open: readonly string[];
  readonly from?: readonly string[];
  readonly to?: readonly string[];
  readonly ttl?: string;
  readonly allOrNothing?: boolean;
  /** ISO time to evaluate at; default now. */
  readonly at?: string;
}

export async function runPolicyExplain(
  file: string,
  o: ExplainOptions,
  write: Write = stdout,
): Promise<number> {
  const engine = await loadEngine(file, write);
  if (engine === undefined) return 1;
  const human: HumanRequest = {
    as: o.as,
    open: o.open,
    ...(o.address === undefined ? {} : { addresses: o.address }),
    ...(o.from === undefined ? {} : { from: o.from }),
    ...(o.to === undefined ? {} : { to: o.to }),
    ...(o.ttl === undefined ? {} : { ttl: o.ttl }),
    ...(o.allOrNothing === undefined ? {} : { allOrNothing: o.allOrNothing }),
  };
  try {
    const nowMs = o.at === undefined ? Date.now() : Date.parse(o.at);
    if (Number.isNaN(nowMs)) throw new Error(`--at: "${o.at ?? ''}" is not an ISO date`);
    const { requester, request } = buildRequest(engine.policy, human);
    const { decision, trace } = engine.explain(
      requester,
      request,
      inventoryDirectory(engine.policy, requester),
      nowMs,
    );
    for (const line of formatDecision(decision, trace)) write(line);
    return 0;
  } catch (e) {
    write(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('validate, test and explain policy files (no server needed)');

  policy
    .command('check')
    .description('validate a policy file; prints every error and warning as file:line:col')
    .argument('<file>', 'policy YAML')
    .action(async (file: string) => {
      process.exitCode = await runPolicyCheck(file);
    });

  policy
    .command('test')
    .description('run policy test cases against a policy file')
    .argument('<file>', 'policy YAML')
    .argument('<cases>', 'test cases YAML')
    .action(async (file: string, cases: string) => {
      process.exitCode = await runPolicyTest(file, cases);
    });

  policy
    .command('explain')
    .description('decide one request and show why, rule by rule (no side effects)')
    .argument('<file>', 'policy YAML')
    .requiredOption('--as <identity>', 'the requester, host/NAME')
    .option('--address <ip>', "requester's certificate address (repeatable; default: inventory)", collect)
    .requiredOption('--open <spec>', 'PROTO/PORT[-PORT] or an app id (repeatable)', collect)
    .option('--from <source>', 'any, CIDR, group:NAME or host:NAME (repeatable; default any)', collect)
    .option('--to <ip>', 'destination address (repeatable; default: the requester own)', collect)
    .option('--ttl <duration>', 'requested TTL, e.g. 10m')
    .option('--all-or-nothing', 'deny rather than narrow')
    .option('--at <iso-time>', 'evaluate at this time instead of now')
    .action(async (file: string, opts: Record<string, unknown>) => {
      const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.map(String) : undefined);
      const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
      const address = strings(opts['address']);
      const from = strings(opts['from']);
      const to = strings(opts['to']);
      const ttl = text(opts['ttl']);
      const at = text(opts['at']);
      process.exitCode = await runPolicyExplain(file, {
        as: text(opts['as']) ?? '',
        open: strings(opts['open']) ?? [],
        ...(address === undefined ? {} : { address }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(ttl === undefined ? {} : { ttl }),
        ...(at === undefined ? {} : { at }),
        allOrNothing: opts['allOrNothing'] === true,
      });
    });
}
