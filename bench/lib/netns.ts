/**
 * Network namespaces for the bench: unique names `phb-<pid>-<n>-<role>`, created with `lo` up and
 * deleted by the scope that made them. No links: the agent only needs nftables inside; the gRPC
 * traffic stays on the root namespace's loopback.
 */
import { runProcess } from '../../client-sdk/enforcer/run-process.js';
import type { Scope } from './cleanup.js';

let seq = 0;

/** Runs argv; throws with stderr on a non-zero exit. Returns stdout. */
export async function must(argv: readonly string[], stdin?: string): Promise<string> {
  const r = await runProcess(argv, stdin === undefined ? {} : { stdin });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export async function createNamespace(scope: Scope, role: string): Promise<string> {
  const name = `phb-${process.pid}-${++seq}-${role}`;
  await must(['ip', 'netns', 'add', name]);
  scope.namespace(name);
  await must(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/** The argv prefix that runs nft inside `ns`. */
export const nftIn = (ns: string): string[] => ['ip', 'netns', 'exec', ns, 'nft'];
