/**
 * The agent's resume point on disk: the server epoch, the last applied revision and the leases
 * it holds. A restarted agent resumes the stream from there instead of taking a snapshot;
 * a stale file is harmless because replayed events are idempotent.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { EnforcerLease } from '../enforcer/types.js';

export interface AgentState {
  readonly epoch: string;
  readonly revision: number;
  readonly leases: readonly EnforcerLease[];
}

export function readAgentState(path: string): AgentState | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<AgentState>;
    if (typeof value.epoch !== 'string' || typeof value.revision !== 'number' || !Array.isArray(value.leases))
      return undefined;
    return { epoch: value.epoch, revision: value.revision, leases: value.leases };
  } catch {
    return undefined; // unreadable: start from a snapshot
  }
}

export function writeAgentState(path: string, state: AgentState): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, path);
}
