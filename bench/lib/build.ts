/**
 * The processes a bench run starts (`pinhole serve`, the echo server, the flood and subscriber
 * children, the PostgreSQL driver) run from JavaScript transpiled once per run, not through tsx.
 * tsx transpiles with the same esbuild, but its loader costs about a second of start-up per
 * process; a quick run starts more than a dozen. What runs is the same source, transformed the
 * same way, so the figures are unchanged; only the waiting between them is shorter.
 *
 * `npm run bench` builds into bench/.build/ (git-ignored) and names it in PINHOLE_BENCH_BUILD for
 * its children; a bench file run on its own, without that variable, starts its children with tsx.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildSync } from 'esbuild';
import { REPO } from '../../test/helpers/pinhole.js';

const BUILD_ENV = 'PINHOLE_BENCH_BUILD';

/** Source folders the children import from (the test helpers included: the flood child uses them). */
const SOURCES = ['server', 'client-sdk', 'proto/gen', 'bench', 'test/helpers', 'test/hardening'];

function typeScriptFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' })
    .filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts') && !f.startsWith('.build'),
    )
    .map((f) => join(REPO, dir, f));
}

/**
 * Transpiles the sources into bench/.build/ (mirroring the tree, so each module finds proto/ and
 * the console's static files above it as from source) and sets PINHOLE_BENCH_BUILD for every
 * child started after it. Returns the milliseconds it took.
 */
export function buildForChildren(): number {
  const started = performance.now();
  const outdir = join(REPO, 'bench', '.build');
  rmSync(outdir, { recursive: true, force: true });
  buildSync({
    entryPoints: SOURCES.flatMap(typeScriptFiles),
    outdir,
    outbase: REPO,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    bundle: false,
    sourcemap: false,
    logLevel: 'error',
  });
  process.env[BUILD_ENV] = outdir;
  return performance.now() - started;
}

/**
 * Node's argv to run the TypeScript file `path` (absolute, inside the repository): its
 * transpiled twin when this run built one, else the file itself through tsx.
 */
export function scriptArgv(path: string): string[] {
  const built = process.env[BUILD_ENV];
  if (built === undefined || built === '') return ['--import', 'tsx', path];
  // A transpiled module naming itself (import.meta.filename) is already in the build.
  if (!relative(built, path).startsWith('..')) return [path];
  return [join(built, relative(REPO, path).replace(/\.ts$/, '.js'))];
}
