/**
 * Starts a worker thread on a module beside the caller, in the form the caller itself runs in:
 * the compiled `.js` twin in a build (dist/ from tsc, bench/.build/ from esbuild, both mirroring
 * the source tree) or the `.ts` source under tsx or vitest.
 *
 * Source needs a TypeScript loader inside the worker, and neither runner gives it one: vitest's
 * transform is for its own module graph only, and on Node 20 `execArgv: ['--import', 'tsx']`
 * registers tsx's hooks too late for the worker's entry module (ERR_UNKNOWN_FILE_EXTENSION). So a
 * `.ts` entry is started through a two-line bootstrap that registers tsx (a devDependency, only
 * ever loaded when running from source) and then imports it.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * `callerUrl` is the caller's `import.meta.url`; `name` the sibling module's file name without
 * extension. The caller's own extension decides which form the sibling is loaded in.
 */
export function startModuleWorker(callerUrl: string, name: string, options: WorkerOptions): Worker {
  const fromSource = callerUrl.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, callerUrl);
  if (!fromSource) return new Worker(entry, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
