/**
 * The rule index: requester key -> protocol -> interval tree of port ranges. A decision looks up only the
 * keys that can match the requester (`any`, `host:NAME`, `group:G` for each group it belongs to) and only
 * the port ranges it asks for, so the work per decision follows the rules that could apply, not the size
 * of the policy.
 */
import type { Protocol } from '../core/types.js';
import { IntervalTree, type Interval } from './interval-tree.js';
import type { CompiledRule } from './model.js';
import type { PortSet } from './ports.js';

export const ANY_KEY = 'any';
export const hostKey = (name: string): string => `host:${name}`;
export const groupKey = (name: string): string => `group:${name}`;

/** Keys a rule is filed under: one per requester entry. */
export function requesterKeys(rule: CompiledRule): string[] {
  const keys: string[] = [];
  if (rule.requesters.any) keys.push(ANY_KEY);
  for (const h of rule.requesters.hosts) keys.push(hostKey(h));
  for (const g of rule.requesters.groups) keys.push(groupKey(g));
  return keys;
}

type ProtocolTrees = ReadonlyMap<Protocol, IntervalTree<CompiledRule>>;

export class RuleIndex {
  readonly #byKey: ReadonlyMap<string, ProtocolTrees>;

  constructor(rules: readonly CompiledRule[]) {
    const lists = new Map<string, Map<Protocol, Interval<CompiledRule>[]>>();
    for (const rule of rules) {
      for (const key of requesterKeys(rule)) {
        let perProto = lists.get(key);
        if (perProto === undefined)
          lists.set(key, (perProto = new Map<Protocol, Interval<CompiledRule>[]>()));
        for (const r of rule.ports) {
          let list = perProto.get(r.protocol);
          if (list === undefined) perProto.set(r.protocol, (list = []));
          list.push({ from: r.from, to: r.to, value: rule });
        }
      }
    }
    const byKey = new Map<string, ProtocolTrees>();
    for (const [key, perProto] of lists) {
      const trees = new Map<Protocol, IntervalTree<CompiledRule>>();
      for (const [proto, list] of perProto) trees.set(proto, new IntervalTree(list));
      byKey.set(key, trees);
    }
    this.#byKey = byKey;
  }

  /** Rules filed under any of `keys` whose ports overlap `ports`, in policy order, each once. */
  candidates(keys: Iterable<string>, ports: PortSet): CompiledRule[] {
    const seen = new Set<CompiledRule>();
    const add = (rule: CompiledRule): void => {
      seen.add(rule);
    };
    for (const key of keys) {
      const trees = this.#byKey.get(key);
      if (trees === undefined) continue;
      for (const r of ports) trees.get(r.protocol)?.query(r.from, r.to, add);
    }
    if (seen.size === 0) return [];
    return [...seen].sort((a, b) => a.index - b.index);
  }

  /** The keys to look up for a requester. */
  static keysFor(hostName: string, memberGroups: Iterable<string>): string[] {
    const keys = [ANY_KEY, hostKey(hostName)];
    for (const g of memberGroups) keys.push(groupKey(g));
    return keys;
  }
}
