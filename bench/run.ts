/**
 * `npm run bench [-- --quick] [-- --only 1,4]`: every figure of the README's Performance section,
 * each with its baseline measured in the same run. Prints a table and writes the same rows to
 * bench/results/latest.json. Bounded: each figure has a time limit, and everything it started
 * (processes, network namespaces, temporary files) is released when it ends, however it ends.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO, sharedPki } from '../test/helpers/pinhole.js';
import { removeDir } from '../test/helpers/tmp.js';
import { buildForChildren } from './lib/build.js';
import { releaseEverything } from './lib/cleanup.js';
import type { Figure, FigureContext } from './lib/figure.js';
import { errorRow, formatMarkdown, formatTable, machine, writeJson, type Row } from './lib/report.js';
import { within } from './lib/stats.js';
import { decisionsFigure } from './figures/decisions.js';
import { storeFigure } from './figures/store.js';
import { policyFigure } from './figures/policy.js';
import { fanoutFigure } from './figures/fanout.js';
import { kernelFigure } from './figures/kernel.js';
import { nftBulkFigure } from './figures/nft-bulk.js';
import { memoryFigure } from './figures/memory.js';
import { postgresFigure } from './figures/postgres.js';
import { floodFigure } from './figures/flood.js';

const FIGURES: readonly Figure[] = [
  decisionsFigure,
  storeFigure,
  policyFigure,
  fanoutFigure,
  kernelFigure,
  nftBulkFigure,
  memoryFigure,
  postgresFigure,
  floodFigure,
];

function parseArgs(argv: readonly string[]): {
  quick: boolean;
  only: Set<number> | undefined;
  markdown: boolean;
} {
  let quick = false;
  let markdown = false;
  let only: Set<number> | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--quick') quick = true;
    else if (arg === '--markdown') markdown = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const list = arg === '--only' ? (argv[++i] ?? '') : arg.slice('--only='.length);
      only = new Set(list.split(',').map(Number));
    } else {
      throw new Error(`${arg}: unknown option; use --quick, --only 1,2,... or --markdown`);
    }
  }
  return { quick, only, markdown };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0)
    process.stderr.write('bench: not root; figures 5 and 6 need network namespaces\n');
  const started = Date.now();
  const startLoad = loadavg()[0] ?? 0;
  // Every progress line carries the seconds since the start, so a slow phase shows where it is.
  const log = (message: string): void => {
    process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s ${message}\n`);
  };
  log(`transpiled the sources for the bench's processes in ${buildForChildren().toFixed(0)} ms`);
  const certDir = sharedPki();
  const ctx: FigureContext = { quick: args.quick, certDir, log };
  const rows: Row[] = [];
  /** Wall seconds per figure, so a slow run shows which figure grew. */
  const figureSeconds: Record<string, number> = {};
  let failed = 0;
  try {
    for (const figure of FIGURES) {
      if (args.only !== undefined && !args.only.has(figure.id)) continue;
      const limit = args.quick ? figure.timeoutMs.quick : figure.timeoutMs.full;
      const t = Date.now();
      log(`[${figure.id}] ${figure.title}`);
      try {
        rows.push(...(await within(figure.run(ctx), limit, `figure ${figure.id}`)));
      } catch (e) {
        failed++;
        log(`[${figure.id}] failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        rows.push(errorRow(figure.id, figure.title, e));
      }
      figureSeconds[figure.id] = (Date.now() - t) / 1000;
      log(`[${figure.id}] ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
  } finally {
    removeDir(certDir);
  }
  const durationS = (Date.now() - started) / 1000;
  const info = machine();
  process.stdout.write(`\n${args.markdown ? formatMarkdown(rows) : formatTable(rows)}\n`);
  process.stdout.write(
    `\n${info.nproc} CPUs (${info.cpu}), ${info.memoryGiB} GiB, kernel ${info.kernel}, node ${info.node}, ` +
      `${info.nft}; ${args.quick ? 'quick' : 'full'} run in ${durationS.toFixed(0)} s; ` +
      `load average ${startLoad.toFixed(2)} at start, ${info.loadAverage.toFixed(2)} at end\n`,
  );
  const out = join(REPO, 'bench', 'results', 'latest.json');
  writeJson(out, {
    quick: args.quick,
    startedAt: new Date(started).toISOString(),
    durationS,
    figureSeconds,
    loadAverageAtStart: startLoad,
    machine: info,
    rows,
  });
  process.stdout.write(`wrote ${out}\n`);
  process.stdout.write(
    `total wall time ${durationS.toFixed(1)} s (${Object.entries(figureSeconds)
      .map(([id, s]) => `[${id}] ${s.toFixed(1)}`)
      .join(', ')})\n`,
  );
  return failed > 0 ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
} finally {
  releaseEverything();
}
// gRPC channels and timers of abandoned figures must not keep the process alive.
process.exit(code);
