/**
 * The live policy: loaded at start, swapped atomically on reload (file change, SIGHUP, admin
 * RPC) only when the new file validates, then every live lease is re-checked against it.
 * An invalid file keeps the old policy and reports every error.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from './log.js';
import { PinholeError } from './core/errors.js';
import type { PolicyEvaluator } from './policy/api.js';
import { loadPolicyFile } from './policy/loader.js';
import { formatDiagnostic } from './policy/diagnostics.js';
import { createEvaluator } from './policy/engine.js';
import type { LeaseEngine } from './lease/lease-engine.js';

export interface ReloadOutcome {
  readonly ok: boolean;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  readonly revoked: number;
  readonly shortened: number;
}

async function compile(
  file: string,
): Promise<{ evaluator?: PolicyEvaluator; errors: string[]; warnings: string[] }> {
  const loaded = await loadPolicyFile(file);
  const warnings = loaded.warnings.map(formatDiagnostic);
  if (!loaded.ok) return { errors: loaded.errors.map(formatDiagnostic), warnings };
  return { evaluator: createEvaluator(loaded.policy), errors: [], warnings };
}

export class PolicyRuntime {
  readonly #file: string;
  readonly #log: Logger;
  #current: PolicyEvaluator;
  #reloading: Promise<ReloadOutcome> = Promise.resolve({
    ok: true,
    errors: [],
    warnings: [],
    revoked: 0,
    shortened: 0,
  });
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;

  private constructor(file: string, evaluator: PolicyEvaluator, log: Logger) {
    this.#file = file;
    this.#current = evaluator;
    this.#log = log;
  }

  /** Loads the policy file; refuses to start on an invalid one, listing every error. */
  static async open(file: string, log: Logger): Promise<PolicyRuntime> {
    const path = resolve(file);
    const { evaluator, errors, warnings } = await compile(path);
    for (const w of warnings) log.warn({ file: path }, w);
    if (evaluator === undefined) {
      throw new PinholeError(
        'FAILED_PRECONDITION',
        `policy ${path} is invalid:\n${errors.join('\n')}\nfix it (pinhole policy check ${file}) and start again`,
      );
    }
    log.info({ file: path }, 'policy loaded');
    return new PolicyRuntime(path, evaluator, log);
  }

  get current(): PolicyEvaluator {
    return this.#current;
  }

  get file(): string {
    return this.#file;
  }

  /** Validates and swaps, then re-checks live leases. Reloads run one at a time. */
  reload(engine: LeaseEngine): Promise<ReloadOutcome> {
    this.#reloading = this.#reloading.then(() => this.#reloadNow(engine));
    return this.#reloading;
  }

  async #reloadNow(engine: LeaseEngine): Promise<ReloadOutcome> {
    const { evaluator, errors, warnings } = await compile(this.#file);
    if (evaluator === undefined) {
      this.#log.error(
        { file: this.#file, errors },
        'policy reload refused: the file is invalid; the previous policy stays in force',
      );
      await engine.record([reloadAudit(this.#file, 'INVALID', { errors })]);
      return { ok: false, errors, warnings, revoked: 0, shortened: 0 };
    }
    this.#current = evaluator;
    const { revoked, shortened } = await engine.recheckAll();
    this.#log.info({ file: this.#file, revoked, shortened, warnings: warnings.length }, 'policy reloaded');
    await engine.record([reloadAudit(this.#file, 'OK', { revoked, shortened, warnings })]);
    return { ok: true, errors: [], warnings, revoked, shortened };
  }

  /** Calls `onChange` (debounced) when the file changes; editors that replace the file are covered by watching its directory. */
  watchFile(onChange: () => void): void {
    if (this.#watcher !== undefined) return;
    const name = basename(this.#file);
    this.#watcher = watch(dirname(this.#file), { persistent: false }, (_event, changed) => {
      if (changed !== name) return;
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(onChange, 200);
      this.#debounce.unref();
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#reloading.catch(() => undefined);
  }
}

function reloadAudit(
  file: string,
  outcome: string,
  detail: Record<string, unknown>,
): Parameters<LeaseEngine['record']>[0][number] {
  return {
    atMs: Date.now(),
    actor: 'server',
    peer: '',
    action: 'policy-reload',
    requestId: '',
    leaseId: '',
    outcome,
    ruleId: '',
    detail: { file, ...detail },
  };
}
