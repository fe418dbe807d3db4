/**
 * Figure 3, policy evaluation: ns per decision of PolicyEngine.decide over the 1,000 requests of
 * buildSyntheticPolicy at 100, 1,000 and 10,000 rules. Every engine is warmed up first (the JIT
 * otherwise dominates whichever size runs first), then the sizes run in interleaved rounds and each
 * keeps its fastest round: other load on the machine only ever adds time. The baseline is the
 * 100-rule policy; the goal is growth 10k/100 ≤ 3x.
 */
import { createEvaluator, type PolicyEngine } from '../../server/policy/engine.js';
import { buildSyntheticPolicy, type SyntheticPolicy } from '../../server/policy/synthetic.js';
import type { Figure, FigureContext } from '../lib/figure.js';
import { row, type Row } from '../lib/report.js';
import { median } from '../lib/stats.js';

const fastest = (xs: readonly number[]): number => Math.min(...xs);

const SIZES = [100, 1000, 10_000] as const;
const SEED = 20_240_601;

interface Subject {
  readonly rules: number;
  readonly synthetic: SyntheticPolicy;
  readonly engine: PolicyEngine;
  readonly rounds: number[];
}

/** Decides the request list repeatedly for about `ms`; returns ns per decision. */
function measure(s: Subject, ms: number, nowMs: number): number {
  let decisions = 0;
  let sink = 0;
  const started = process.hrtime.bigint();
  const until = performance.now() + ms;
  while (performance.now() < until) {
    for (const r of s.synthetic.requests) {
      sink += s.engine.decide(r.requester, r.request, s.synthetic.directory, nowMs).rules.length;
    }
    decisions += s.synthetic.requests.length;
  }
  const ns = Number(process.hrtime.bigint() - started);
  if (sink < 0) throw new Error('unreachable');
  return ns / decisions;
}

function run(ctx: FigureContext): Promise<Row[]> {
  const rounds = ctx.quick ? 3 : 7;
  const roundMs = ctx.quick ? 100 : 300;
  const nowMs = Date.now();
  const subjects: Subject[] = SIZES.map((rules) => {
    const t = performance.now();
    const synthetic = buildSyntheticPolicy(rules, SEED);
    const engine = createEvaluator(synthetic.policy);
    ctx.log(`  ${rules} rules compiled in ${(performance.now() - t).toFixed(0)} ms`);
    return { rules, synthetic, engine, rounds: [] };
  });
  for (const s of subjects) measure(s, ctx.quick ? 200 : 800, nowMs);
  for (let r = 0; r < rounds; r++) for (const s of subjects) s.rounds.push(measure(s, roundMs, nowMs));
  const base = subjects[0];
  if (base === undefined) return Promise.resolve([]);
  const baseNs = fastest(base.rounds);
  const outcomes = new Map<string, number>();
  for (const r of base.synthetic.requests) {
    const o = base.engine.decide(r.requester, r.request, base.synthetic.directory, nowMs).outcome;
    outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
  }
  return Promise.resolve(
    subjects.map((s) => {
      const ns = fastest(s.rounds);
      ctx.log(
        `  ${s.rules} rules: ${ns.toFixed(0)} ns/decision (rounds ${s.rounds.map((x) => x.toFixed(0)).join(' ')})`,
      );
      return row(3, {
        name: `policy decide, ${s.rules.toLocaleString('en-US')} rules`,
        value: ns,
        unit: 'ns',
        ...(s === base ? {} : { baselineName: '100 rules', baseline: baseNs }),
        ...(s.rules === 10_000 ? { goal: { kind: 'max' as const, ratio: 3 } } : {}),
        note: `${(1e9 / ns).toFixed(0)} decisions/s on one core; fastest of ${rounds} rounds (median ${(median(s.rounds) / 1000).toFixed(1)} µs); mix at 100 rules ${JSON.stringify(Object.fromEntries(outcomes))}`,
      });
    }),
  );
}

export const policyFigure: Figure = {
  id: 3,
  title: 'policy evaluation cost vs rule count',
  timeoutMs: { quick: 30_000, full: 60_000 },
  run,
};
