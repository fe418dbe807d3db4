/**
 * Wraps a Store so that every commit is timed (pinhole_store_commit_duration_seconds) and a commit
 * that fails for the store's own reasons triggers an immediate health probe. Everything else passes
 * straight through to the real store, whichever backend it is (a Proxy, so a method added to the
 * Store interface later needs no change here).
 */
import { isPinholeError } from '../core/errors.js';
import type { CommitResult, Mutation, Store } from '../store/store.js';
import type { CommitOutcome } from './metrics.js';

export interface CommitHooks {
  readonly observe: (outcome: CommitOutcome, seconds: number) => void;
  /** The store itself failed (not a precondition): probe health now. */
  readonly failed: (error: unknown) => void;
}

/** Precondition and idempotency conflicts are answers, not store failures. */
function outcomeOf(error: unknown): CommitOutcome {
  if (!isPinholeError(error)) return 'error';
  switch (error.code) {
    case 'FAILED_PRECONDITION':
    case 'ALREADY_EXISTS':
    case 'NOT_FOUND':
    case 'INVALID_ARGUMENT':
    case 'PERMISSION_DENIED':
      return 'rejected';
    case 'UNAVAILABLE':
    case 'RESOURCE_EXHAUSTED':
    case 'DEADLINE_EXCEEDED':
    case 'CANCELLED':
    case 'UNAUTHENTICATED':
    case 'INTERNAL':
      return 'error';
  }
}

export function instrumentStore(store: Store, hooks: CommitHooks): Store {
  const commit = async (mutation: Mutation): Promise<CommitResult> => {
    const started = performance.now();
    try {
      const result = await store.commit(mutation);
      hooks.observe('ok', (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      const outcome = outcomeOf(error);
      hooks.observe(outcome, (performance.now() - started) / 1000);
      if (outcome === 'error') hooks.failed(error);
      throw error;
    }
  };
  return new Proxy(store, {
    get(target, property) {
      if (property === 'commit') return commit;
      // Backends keep state in #private fields: methods and getters must run on the real object.
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
