/**
 * Failpoints for crash and fault tests: named places in the commit path where a test can make
 * the process die (SIGKILL: no cleanup, no flush, exactly like a power cut for the process) or
 * throw an internal error.
 *
 *   PINHOLE_FAILPOINTS='before-commit=exit,after-commit-before-reply=exit@3,mid-snapshot=exit%0.5'
 *
 * Each entry is `name=action[@N][%P]`: action `exit` (SIGKILL itself) or `throw` (an Error whose
 * text must never reach a client); `@N` fires from the N-th hit on (default the first); `%P` fires
 * with probability P per eligible hit. Read once at startup. When the variable is unset,
 * `failpoint()` is one comparison against undefined.
 */

export const FAILPOINT_NAMES = [
  'before-commit',
  'after-commit',
  'after-commit-before-reply',
  'mid-snapshot',
] as const;
export type FailpointName = (typeof FAILPOINT_NAMES)[number];

export type FailpointAction = 'exit' | 'throw';

interface Armed {
  readonly action: FailpointAction;
  readonly fromHit: number;
  readonly probability: number;
  hits: number;
}

let armed: Map<FailpointName, Armed> | undefined;
/** The spec last configured, for threads that arm their own copy (the SQLite store's worker). */
let armedSpec: string | undefined;
const changeListeners = new Set<(spec: string | undefined) => void>();

function isName(name: string): name is FailpointName {
  return (FAILPOINT_NAMES as readonly string[]).includes(name);
}

/** Parses a PINHOLE_FAILPOINTS value; throws naming the bad entry. */
export function parseFailpoints(spec: string): Map<FailpointName, Armed> {
  const result = new Map<FailpointName, Armed>();
  for (const entry of spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const m = /^([a-z-]+)=(exit|throw)(?:@(\d+))?(?:%(0(?:\.\d+)?|1(?:\.0+)?))?$/.exec(entry);
    const name = m?.[1];
    if (m === null || name === undefined || !isName(name)) {
      throw new Error(
        `PINHOLE_FAILPOINTS: ${JSON.stringify(entry)} is not a failpoint; use NAME=exit|throw[@N][%P] with NAME one of ${FAILPOINT_NAMES.join(', ')}`,
      );
    }
    result.set(name, {
      action: m[2] === 'throw' ? 'throw' : 'exit',
      fromHit: m[3] === undefined ? 1 : Math.max(1, Number(m[3])),
      probability: m[4] === undefined ? 1 : Number(m[4]),
      hits: 0,
    });
  }
  return result;
}

/** Arms failpoints from a spec (tests in the same process); an empty spec or undefined disarms all. */
export function configureFailpoints(spec: string | undefined): void {
  const parsed = spec === undefined ? undefined : parseFailpoints(spec);
  armed = parsed === undefined || parsed.size === 0 ? undefined : parsed;
  armedSpec = armed === undefined ? undefined : spec;
  for (const listener of changeListeners) listener(armedSpec);
}

/**
 * The spec in force (undefined when disarmed). Failpoint state is per thread: a worker thread
 * whose code has failpoints (server/store/sqlite/sqlite-worker.ts) arms this spec at start.
 */
export function failpointSpec(): string | undefined {
  return armedSpec;
}

/**
 * Calls `listener` after each configureFailpoints, so a worker thread can re-arm its copy: a test
 * that arms `before-commit=throw` in-process must reach the commit path wherever it runs.
 * Returns the unsubscribe function.
 */
export function onFailpointsChange(listener: (spec: string | undefined) => void): () => void {
  changeListeners.add(listener);
  return () => changeListeners.delete(listener);
}

/** Thrown by a `throw` failpoint; its text stands for internals a client must never see. */
export class FailpointError extends Error {
  override readonly name = 'FailpointError';
}

/** Dies or throws here if the failpoint `name` is armed and due. */
export function failpoint(name: FailpointName): void {
  if (armed === undefined) return;
  const point = armed.get(name);
  if (point === undefined) return;
  point.hits++;
  if (point.hits < point.fromHit) return;
  if (point.probability < 1 && Math.random() >= point.probability) return;
  if (point.action === 'exit') {
    process.kill(process.pid, 'SIGKILL');
    return;
  }
  throw new FailpointError(
    `failpoint ${name}: simulated internal fault at /var/lib/pinhole/secret-internal-state (sqlite handle 0x7f3a)`,
  );
}

// Armed from the environment once, at startup of the server process.
configureFailpoints(process.env.PINHOLE_FAILPOINTS);
