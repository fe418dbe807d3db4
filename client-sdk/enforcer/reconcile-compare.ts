/**
 * The comparison step of NftEnforcer's reconcile, kept apart from the kernel I/O around it: index the
 * listed elements, judge tampering against what the index held, stage the index to the target (the
 * caller commits or rolls back) and diff what the kernel should hold against what it does.
 */
import {
  diffElements,
  findTampering,
  indexElement,
  type ElementDiff,
  type KernelIndex,
  type WantedElement,
} from './element-diff.js';
import type { ElementIndex, Placement, Staged } from './element-index.js';
import type { Target } from './lease-target.js';
import type { NftListing } from './nft-exec.js';
import { timeoutSeconds, type ElementAdd } from './nft-ruleset.js';

/** What our last write left in a slot: the element we added (with when), or nothing (we deleted it). */
export type Written = { readonly add: ElementAdd; readonly atMs: number } | undefined;

/** A wanted element and the placement it comes from. */
export type Wanted = WantedElement & { readonly placement: Placement };

/** What `compareWithKernel` found. */
export interface Comparison {
  readonly diff: ElementDiff<Wanted>;
  /** Findings that mean someone else changed the kernel. */
  readonly tamperEvents: readonly string[];
  readonly staged: Staged;
  /** Every element the kernel should hold now (dying ones included, marked). */
  readonly wanted: readonly Wanted[];
  /** A listed element of a shape we cannot express: the table is reloaded. */
  readonly unparsable: boolean;
}

/** The clock and margins a comparison judges expiries by. */
export interface CompareTiming {
  readonly nowMs: number;
  /** Added to a lease's end for its kernel timeout. */
  readonly graceMs: number;
  /** An element with less than this left may be gone by now: it is neither expected nor re-added. */
  readonly dyingMs: number;
}

/**
 * Compares `listing` (undefined: the table is missing) with `index`, and stages `index` to `target`.
 * `stale` holds, by `<set>|<key text>`, what we wrote after the listing was read: those slots hold
 * that, whatever the listing says.
 */
export function compareWithKernel(
  index: ElementIndex,
  target: Target,
  listing: NftListing | undefined,
  stale: ReadonlyMap<string, Written>,
  timing: CompareTiming,
): Comparison {
  const { nowMs: now, graceMs, dyingMs } = timing;
  const leases = index.leases;
  const kernel: KernelIndex = new Map();
  let unparsable = false;
  for (const set of listing?.sets ?? []) {
    for (const e of set.elements) {
      if (e.keyText === undefined) unparsable = true;
      else if (stale.size === 0 || !stale.has(`${set.name}|${e.keyText}`)) indexElement(kernel, e.keyText, e);
    }
  }
  // Slots we wrote after the listing was read hold what we wrote: they are not judged for tampering
  // (they match what we believed), but still diffed against the target.
  for (const w of stale.values()) {
    if (w === undefined) continue; // deleted
    const leftS = w.add.timeoutS - (now - w.atMs) / 1000;
    if (leftS <= 0) continue; // timed out since
    indexElement(kernel, w.add.keyText, {
      set: w.add.set,
      keyText: w.add.keyText,
      comment: w.add.comment,
      timeoutS: w.add.timeoutS,
      expiresS: Math.floor(leftS),
      packets: 0,
      bytes: 0,
    });
  }
  // What we believed the kernel holds (minus elements that may have timed out by now), judged before
  // staging: a lease is known if we hold it or are asked to.
  const believed: Placement[] = [];
  const gone: string[] = [];
  for (const [id, lease] of leases) {
    if (lease.expiresAtMs + graceMs - now > dyingMs) for (const p of lease.placements) believed.push(p);
    if (!target.has(id)) gone.push(id);
  }
  const tamperEvents = findTampering(believed, kernel, (id) => leases.has(id) || target.has(id));
  const staged = index.stage(target, gone, (at) => at + graceMs <= now);
  const wanted: Wanted[] = [];
  for (const [id, lease] of leases) {
    const timeoutS = timeoutSeconds(lease.expiresAtMs, graceMs, now);
    const alive = lease.expiresAtMs + graceMs - now > dyingMs;
    for (const p of lease.placements)
      wanted.push({ set: p.set, keyText: p.keyText, placement: p, leaseId: id, timeoutS, alive });
  }
  return { diff: diffElements(kernel, wanted), tamperEvents, staged, wanted, unparsable };
}
