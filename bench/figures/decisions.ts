/**
 * Figure 1, decisions/s: Open+Release pairs over ONE mTLS connection to a `pinhole serve` child
 * process (SQLite, synchronous=FULL, so every answer waits for its durable commit; logging at info
 * to a file), at concurrency 1, 16 and 64. Baseline: a bare grpc-js unary echo server in its own
 * process with the same certificates and mTLS, two calls per pair with Open's and Release's
 * request/response sizes. The two alternate in three slices of 0.8 s (one of 0.7 s in --quick).
 */
import { readClientTls } from '../../client-sdk/wire.js';
import { loadPinholeProto } from '../../server/rpc/proto.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { withScope } from '../lib/cleanup.js';
import { benchSource, open, openRequest, release, webClient } from '../lib/calls.js';
import { echoCall, echoClient, echoRequest } from '../lib/echo.js';
import type { Figure, FigureContext } from '../lib/figure.js';
import { spawnChild, spawnPinhole } from '../lib/processes.js';
import { row, type Row } from '../lib/report.js';
import { closedLoop, quantile } from '../lib/stats.js';

const CONCURRENCY = [1, 16, 64] as const;

/** Equal-length closed-loop slices of one subject, summed. */
class Slices {
  readonly latenciesMs: number[] = [];
  #rates: number[] = [];
  errors = 0;

  add(r: { perSecond: number; latenciesMs: number[]; errors: number }): void {
    this.#rates.push(r.perSecond);
    this.latenciesMs.push(...r.latenciesMs);
    this.errors += r.errors;
  }

  get perSecond(): number {
    return this.#rates.reduce((a, b) => a + b, 0) / Math.max(1, this.#rates.length);
  }
}

interface Sizes {
  openReq: number;
  openRes: number;
  releaseReq: number;
  releaseRes: number;
}

async function run(ctx: FigureContext): Promise<Row[]> {
  // Pinhole and echo alternate in slices, so load from outside the bench hits both alike.
  const slices = ctx.quick ? 1 : 3;
  const durationMs = ctx.quick ? 700 : 800;
  const warmupMs = ctx.quick ? 150 : 250;
  return withScope(async (scope) => {
    const dataDir = scope.dir(tempDir('pinhole-bench-'));
    // Both servers start at once: each start is seconds of module loading.
    const echoServer = spawnChild(scope, 'echo-server.ts', [ctx.certDir]);
    const server = await spawnPinhole(scope, { dataDir, certDir: ctx.certDir });
    const web = webClient(server.address, ctx.certDir);
    scope.defer('web client', () => {
      web.close();
    });
    const echoAddress = await echoServer.next('listening');
    const echo = echoClient(echoAddress, readClientTls(ctx.certDir, 'host-web-1'));
    scope.defer('echo client', () => {
      echo.close();
    });

    // Message sizes of a real pair, as serialised on the wire.
    const method = loadPinholeProto().pinhole.v1.Opening.service;
    const sampleReq = openRequest('size-probe', benchSource(1));
    const sampleRes = await open(web, sampleReq);
    const leaseId = sampleRes.lease?.id ?? '';
    const released = await release(web, leaseId);
    const sizes: Sizes = {
      openReq: method.Open.requestSerialize(sampleReq).length,
      openRes: method.Open.responseSerialize(sampleRes).length,
      releaseReq: method.Release.requestSerialize({ leaseId }).length,
      releaseRes: method.Release.responseSerialize(released).length,
    };
    ctx.log(`  message sizes: ${JSON.stringify(sizes)}`);
    const openEcho = echoRequest(sizes.openReq, sizes.openRes);
    const releaseEcho = echoRequest(sizes.releaseReq, sizes.releaseRes);

    const rows: Row[] = [];
    let n = 0;
    for (const concurrency of CONCURRENCY) {
      const pinhole = new Slices();
      const baseline = new Slices();
      for (let slice = 0; slice < slices; slice++) {
        pinhole.add(
          await closedLoop(
            async () => {
              const i = ++n;
              const answer = await open(web, openRequest(`bench-${i}`, benchSource(i)));
              await release(web, answer.lease?.id ?? '');
            },
            { concurrency, durationMs, warmupMs },
          ),
        );
        baseline.add(
          await closedLoop(
            async () => {
              await echoCall(echo, openEcho);
              await echoCall(echo, releaseEcho);
            },
            { concurrency, durationMs, warmupMs },
          ),
        );
      }
      const p = (xs: number[], q: number): string => quantile(xs, q).toFixed(1);
      ctx.log(
        `  c=${concurrency}: ${pinhole.perSecond.toFixed(0)} pairs/s (p50 ${p(pinhole.latenciesMs, 0.5)} ms, ` +
          `p99 ${p(pinhole.latenciesMs, 0.99)} ms); echo ${baseline.perSecond.toFixed(0)}/s`,
      );
      rows.push(
        row(1, {
          name: `decisions/s (Open+Release) c=${concurrency}`,
          value: pinhole.perSecond,
          unit: '/s',
          baselineName: `grpc echo pairs c=${concurrency}`,
          baseline: baseline.perSecond,
          ...(concurrency === 64 ? { goal: { kind: 'min' as const, ratio: 0.7 } } : {}),
          note:
            `pair latency p50 ${p(pinhole.latenciesMs, 0.5)} ms p99 ${p(pinhole.latenciesMs, 0.99)} ms ` +
            `(echo p50 ${p(baseline.latenciesMs, 0.5)} ms); errors ${pinhole.errors}; ` +
            `bytes open ${sizes.openReq}/${sizes.openRes} release ${sizes.releaseReq}/${sizes.releaseRes}`,
        }),
      );
    }
    return rows;
  });
}

export const decisionsFigure: Figure = {
  id: 1,
  title: 'decisions/s over one mTLS connection vs a grpc-js echo',
  timeoutMs: { quick: 30_000, full: 60_000 },
  run,
};
