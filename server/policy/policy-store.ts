/**
 * The current policy, swappable at runtime. The store is itself a PolicyEvaluator that delegates to
 * the current engine, so the lease engine holds one object across reloads; each call uses one engine
 * from start to end because evaluation is synchronous.
 *
 * reload() validates the new file completely before swapping; an invalid file leaves the old policy in
 * place and returns every error. Reloads are serialized: a slow read cannot overwrite a newer policy.
 * Re-checking live leases after a successful reload is the caller's job (recheck() per lease), because
 * the leases live in the lease engine and revocations go through the store and watch hub.
 */
import type { ConcreteRule, Decision, Lease, OpenRequest } from '../core/types.js';
import type {
  EnforcerScope,
  HostDirectory,
  PolicyDefaults,
  PolicyEvaluator,
  Recheck,
  RequesterFacts,
} from './api.js';
import type { Diagnostic } from './diagnostics.js';
import { PolicyEngine } from './engine.js';
import type { Explanation } from './explain.js';
import { loadPolicyFile } from './loader.js';
import type { CompiledEnforcer, CompiledPolicy } from './model.js';

export type ReloadResult =
  | { readonly ok: true; readonly revision: number; readonly warnings: readonly Diagnostic[] }
  | {
      readonly ok: false;
      readonly revision: number;
      readonly errors: readonly Diagnostic[];
      readonly warnings: readonly Diagnostic[];
    };

export type OpenStoreResult =
  | { readonly ok: true; readonly store: PolicyStore; readonly warnings: readonly Diagnostic[] }
  | { readonly ok: false; readonly errors: readonly Diagnostic[]; readonly warnings: readonly Diagnostic[] };

export class PolicyStore implements PolicyEvaluator {
  #engine: PolicyEngine;
  /** Increments on every successful swap; 1 for the initial policy. */
  #revision = 1;
  readonly #path: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(initial: CompiledPolicy | PolicyEngine, path?: string) {
    this.#engine = initial instanceof PolicyEngine ? initial : new PolicyEngine(initial);
    this.#path = path;
  }

  /** Load `path` and build a store on it; the store remembers the path for argument-less reloads. */
  static async open(path: string): Promise<OpenStoreResult> {
    const r = await loadPolicyFile(path);
    if (!r.ok) return r;
    return { ok: true, store: new PolicyStore(r.policy, path), warnings: r.warnings };
  }

  get current(): PolicyEngine {
    return this.#engine;
  }

  get revision(): number {
    return this.#revision;
  }

  get path(): string | undefined {
    return this.#path;
  }

  /** Replace the policy with an already compiled one. Returns the new revision. */
  swap(policy: CompiledPolicy | PolicyEngine): number {
    this.#engine = policy instanceof PolicyEngine ? policy : new PolicyEngine(policy);
    return ++this.#revision;
  }

  /** Validate `path` (default: the path given at construction) and swap it in if it is valid. */
  reload(path: string | undefined = this.#path): Promise<ReloadResult> {
    const run = async (): Promise<ReloadResult> => {
      if (path === undefined)
        return {
          ok: false,
          revision: this.#revision,
          errors: [
            {
              file: '',
              line: 1,
              col: 1,
              path: '',
              message: 'no policy path to reload; pass one',
              severity: 'error',
            },
          ],
          warnings: [],
        };
      const r = await loadPolicyFile(path);
      if (!r.ok) return { ok: false, revision: this.#revision, errors: r.errors, warnings: r.warnings };
      return { ok: true, revision: this.swap(r.policy), warnings: r.warnings };
    };
    const next = this.#queue.then(run, run);
    this.#queue = next;
    return next;
  }

  get defaults(): PolicyDefaults {
    return this.#engine.defaults;
  }

  decide(requester: RequesterFacts, request: OpenRequest, directory: HostDirectory, nowMs: number): Decision {
    return this.#engine.decide(requester, request, directory, nowMs);
  }

  renewTtlSeconds(ruleId: string, requestedTtlSeconds: number, lease: Lease): number {
    return this.#engine.renewTtlSeconds(ruleId, requestedTtlSeconds, lease);
  }

  recheck(lease: Lease, requester: RequesterFacts, directory: HostDirectory, nowMs: number): Recheck {
    return this.#engine.recheck(lease, requester, directory, nowMs);
  }

  enforcerNames(): readonly string[] {
    return this.#engine.enforcerNames();
  }

  enforcerScope(firewallName: string): CompiledEnforcer | undefined {
    return this.#engine.enforcerScope(firewallName);
  }

  inScope(
    scope: EnforcerScope,
    host: string,
    rules: readonly ConcreteRule[],
    directory: HostDirectory,
  ): boolean {
    return this.#engine.inScope(scope, host, rules, directory);
  }

  thirdPartyAllowed(
    requester: RequesterFacts,
    destination: string,
    directory: HostDirectory,
    nowMs: number = Date.now(),
  ): boolean {
    return this.#engine.thirdPartyAllowed(requester, destination, directory, nowMs);
  }

  explain(
    requester: RequesterFacts,
    request: OpenRequest,
    directory: HostDirectory,
    nowMs: number = Date.now(),
  ): Explanation {
    return this.#engine.explain(requester, request, directory, nowMs);
  }
}
