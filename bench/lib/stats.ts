/** Timing and summary helpers shared by the figures. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds `fn` took. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** The q-quantile (0..1) of `xs` by nearest rank; NaN for no samples. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/** Wall-clock time in ms with sub-ms precision, comparable across processes on one machine. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

/**
 * Runs `concurrency` workers calling `op` back to back for `durationMs` after a `warmupMs` that is
 * not counted. Returns completed operations per second and per-operation latencies (ms).
 */
export async function closedLoop(
  op: (worker: number, seq: number) => Promise<void>,
  opts: { concurrency: number; durationMs: number; warmupMs: number },
): Promise<{ perSecond: number; latenciesMs: number[]; errors: number }> {
  let seq = 0;
  const state = { counting: false, stop: false };
  let done = 0;
  let errors = 0;
  const latencies: number[] = [];
  let firstError: Error | undefined;
  const worker = async (w: number): Promise<void> => {
    while (!state.stop) {
      const started = performance.now();
      try {
        await op(w, seq++);
        if (state.counting) {
          done++;
          latencies.push(performance.now() - started);
        }
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e : new Error('operation failed', { cause: e });
        if (errors > 100) throw e;
      }
    }
  };
  const workers = Array.from({ length: opts.concurrency }, (_, w) => worker(w));
  await sleep(opts.warmupMs);
  state.counting = true;
  const started = performance.now();
  await sleep(opts.durationMs);
  const elapsed = performance.now() - started;
  state.counting = false;
  state.stop = true;
  await Promise.all(workers);
  if (done === 0 && firstError !== undefined) throw firstError;
  return { perSecond: (done * 1000) / elapsed, latenciesMs: latencies, errors };
}

/** Rejects with a clear message if `p` does not settle within `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: no result within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
