/**
 * The enforcer's memory of what it put in the kernel: which lease owns which element in which set.
 *
 * Why layers: nftables' concatenated-range sets refuse an element that overlaps another one ("File
 * exists", and the whole transaction fails), yet two leases may legitimately overlap (the same opening
 * granted twice, or a /32 inside a /24). Each family therefore has sets `open4`, `open4_1`, `open4_2`...;
 * an element goes into the lowest layer where it overlaps nothing. Every lease keeps its own element, with
 * its own timeout, comment and counter, and deleting one lease never removes another lease's access.
 *
 * Changes are staged with an undo log so a transaction the kernel rejects leaves this memory exactly as
 * the kernel is: unchanged.
 */
import { bucketOf, mask, sameKey, type ElementKey, type Family } from './nft-keys.js';
import { EnforcerError } from './errors.js';
import type { Target } from './lease-target.js';
import { setName, type LayerAdd } from './nft-ruleset.js';

/** One element this enforcer placed. */
export interface Placement {
  readonly leaseId: string;
  readonly key: ElementKey;
  readonly layer: number;
  /** Its set's name (`setName(key.family, layer)`). */
  readonly set: string;
  /** `key.text`: with `set`, what a reconcile looks the element up by (see element-diff.ts). */
  readonly keyText: string;
  /** The lease it belongs to (its entry in `ElementIndex.leases`): its end, without a lookup by id. */
  readonly held: HeldLease;
}

/** A lease as held in the kernel. */
export interface HeldLease {
  expiresAtMs: number;
  /**
   * Its elements, distinct by key text. An array, not a map: a lease has a few rules, and a map per lease
   * (allocated, and hashing every key text) was a tenth of staging a 10k-lease batch.
   */
  readonly placements: Placement[];
}

/** More layers than this means something pathological (thousands of identical grants); refuse. */
export const MAX_LAYERS = 64;

/**
 * One undo step. Bare values cost no allocation on the hot path of a bulk batch: a string is a lease
 * created (delete it), a Placement one placed (take it out again); records cover the rarer changes.
 */
type Undo =
  | string
  | Placement
  | { readonly kind: 'unplaced'; readonly p: Placement }
  | { readonly kind: 'expiry'; readonly held: HeldLease; readonly before: number }
  | { readonly kind: 'removed'; readonly leaseId: string; readonly held: HeldLease }
  | { readonly kind: 'layers'; readonly family: Family; readonly before: number };

/** The placements of one source network: almost always one, so it is held bare. */
type Slot = Placement | Placement[];

function slotOverlaps(slot: Slot | undefined, key: ElementKey): boolean {
  if (slot === undefined) return false;
  if (!Array.isArray(slot)) return slot.key.portFrom <= key.portTo && key.portFrom <= slot.key.portTo;
  for (const p of slot) if (p.key.portFrom <= key.portTo && key.portFrom <= p.key.portTo) return true;
  return false;
}

/** Takes `p` out of `list`, if there. */
function remove(list: Placement[] | undefined, p: Placement): void {
  const i = list?.indexOf(p) ?? -1;
  if (i >= 0) list?.splice(i, 1);
}

/** The placement of `list` for `key`. */
function findPlacement(list: readonly Placement[], key: ElementKey): Placement | undefined {
  for (const p of list) if (sameKey(p.key, key)) return p;
  return undefined;
}

/** Whether `keys` has `key` (a loop: a lease has a few keys). */
function hasKey(keys: readonly ElementKey[], key: ElementKey): boolean {
  for (const k of keys) if (sameKey(k, key)) return true;
  return false;
}

/**
 * The elements of one (family, protocol, destination) bucket, by source prefix length and network, so that
 * the overlap test looks up containing prefixes directly instead of scanning every element: placing 10k
 * leases must not be quadratic.
 */
class PrefixIndex {
  /** By prefix length (0-128); `#lens` lists the lengths in use, so lookups skip the empty ones. */
  readonly #byLen: (Map<bigint, Slot> | undefined)[] = [];
  #lens: number[] = [];

  add(p: Placement): void {
    const len = p.key.srcLen;
    let nets = this.#byLen[len];
    if (nets === undefined) {
      this.#byLen[len] = nets = new Map<bigint, Slot>();
      this.#lens = [...this.#lens, len].sort((x, y) => x - y);
    }
    const slot = nets.get(p.key.srcNet);
    if (slot === undefined) nets.set(p.key.srcNet, p);
    else if (Array.isArray(slot)) slot.push(p);
    else if (slot !== p) nets.set(p.key.srcNet, [slot, p]);
  }

  delete(p: Placement): void {
    const len = p.key.srcLen;
    const nets = this.#byLen[len];
    const slot = nets?.get(p.key.srcNet);
    if (nets === undefined || slot === undefined) return;
    if (slot === p) nets.delete(p.key.srcNet);
    else if (Array.isArray(slot)) {
      const i = slot.indexOf(p);
      if (i >= 0) slot.splice(i, 1);
      if (slot.length === 1 && slot[0] !== undefined) nets.set(p.key.srcNet, slot[0]);
      else if (slot.length === 0) nets.delete(p.key.srcNet);
    }
    if (nets.size === 0) {
      this.#byLen[len] = undefined;
      this.#lens = this.#lens.filter((l) => l !== len);
    }
  }

  /** Whether any element overlaps `key` (same bucket assumed: only source and ports are compared). */
  overlaps(key: ElementKey): boolean {
    const width = key.family === 4 ? 32 : 128;
    for (const len of this.#lens) {
      const nets = this.#byLen[len];
      if (nets === undefined) continue;
      if (len <= key.srcLen) {
        // A shorter (or equal) prefix overlaps only if it contains the key's network (whose host bits
        // are clear already: the same length needs no mask).
        const net = len === key.srcLen ? key.srcNet : key.srcNet & mask(key.family, len);
        if (slotOverlaps(nets.get(net), key)) return true;
        continue;
      }
      // Longer prefixes inside the key's network: enumerate the sub-networks when that is cheaper.
      const span = len - key.srcLen;
      if (span < 16 && 2 ** span < nets.size) {
        for (let i = 0n; i < 1n << BigInt(span); i++) {
          if (slotOverlaps(nets.get(key.srcNet | (i << BigInt(width - len))), key)) return true;
        }
      } else {
        const m = mask(key.family, key.srcLen);
        for (const [net, slot] of nets) if ((net & m) === key.srcNet && slotOverlaps(slot, key)) return true;
      }
    }
    return false;
  }
}

/**
 * What `ElementIndex.stage` changed: the new layers, the placements removed, and the placements to
 * (re)write: `kept` ones (already in the kernel: re-adding is how their timeouts move) and newly `placed`.
 */
export interface Staged {
  readonly layers: LayerAdd[];
  readonly removed: Placement[];
  readonly kept: Placement[];
  readonly placed: Placement[];
}

/** Placement bookkeeping with overlap-free layers and transactional staging. */
export class ElementIndex {
  readonly #leases = new Map<string, HeldLease>();
  /** [family][layer] -> bucket -> placements, for the overlap test. */
  readonly #layers: Record<Family, Map<string, PrefixIndex>[]> = { 4: [], 6: [] };
  #undo: Undo[] | undefined;

  /** Leases currently held. */
  get leases(): ReadonlyMap<string, HeldLease> {
    return this.#leases;
  }

  /** How many sets `family` uses (at least one). */
  layerCount(family: Family): number {
    return Math.max(1, this.#layers[family].length);
  }

  /** Starts recording changes so `rollback()` can undo them. */
  begin(): void {
    this.#undo = [];
  }

  /** Keeps the staged changes. */
  commit(): void {
    this.#undo = undefined;
  }

  /** Undoes everything since `begin()`, newest first. */
  rollback(): void {
    const undo = this.#undo ?? [];
    this.#undo = undefined;
    for (let i = undo.length - 1; i >= 0; i--) {
      const u = undo[i];
      if (u === undefined) continue;
      if (typeof u === 'string') this.#leases.delete(u);
      else if (!('kind' in u)) {
        remove(this.#leases.get(u.leaseId)?.placements, u);
        this.#layers[u.key.family][u.layer]?.get(bucketOf(u.key))?.delete(u);
      } else {
        switch (u.kind) {
          case 'unplaced':
            this.#leases.get(u.p.leaseId)?.placements.push(u.p);
            this.#bucket(u.p.key.family, u.p.layer, bucketOf(u.p.key)).add(u.p);
            break;
          case 'expiry':
            u.held.expiresAtMs = u.before;
            break;
          case 'removed':
            this.#leases.set(u.leaseId, u.held);
            break;
          case 'layers':
            this.#layers[u.family].length = u.before;
            break;
        }
      }
    }
  }

  /** Makes sure `leaseId` is held, with `expiresAtMs`. */
  holdLease(leaseId: string, expiresAtMs: number): HeldLease {
    return this.#hold(leaseId, expiresAtMs, this.#leases.get(leaseId));
  }

  /** `holdLease`, given what `#leases` holds for `leaseId` (a 50k-lease batch looks it up once). */
  #hold(leaseId: string, expiresAtMs: number, existing: HeldLease | undefined): HeldLease {
    let held = existing;
    if (held === undefined) {
      held = { expiresAtMs, placements: [] };
      this.#leases.set(leaseId, held);
      this.#undo?.push(leaseId);
    } else if (held.expiresAtMs !== expiresAtMs) {
      this.#undo?.push({ kind: 'expiry', held, before: held.expiresAtMs });
      held.expiresAtMs = expiresAtMs;
    }
    return held;
  }

  /** Removes one element of a lease. */
  unplace(p: Placement): void {
    remove(this.#leases.get(p.leaseId)?.placements, p);
    this.#layers[p.key.family][p.layer]?.get(bucketOf(p.key))?.delete(p);
    this.#undo?.push({ kind: 'unplaced', p });
  }

  /** Removes a lease and returns the elements it had. */
  removeLease(leaseId: string): Placement[] {
    const held = this.#leases.get(leaseId);
    if (held === undefined) return [];
    const removed = [...held.placements];
    for (const p of removed) this.unplace(p);
    this.#leases.delete(leaseId);
    this.#undo?.push({ kind: 'removed', leaseId, held });
    return removed;
  }

  /**
   * Places `key` for a held lease in the lowest layer where it overlaps nothing, opening a new layer if
   * needed (`newLayer` is then true: the caller must create that set and its rule in the same transaction).
   */
  place(leaseId: string, key: ElementKey): { placement: Placement; newLayer: boolean } {
    const held = this.#leases.get(leaseId);
    if (held === undefined) throw new Error(`place: lease ${leaseId} is not held`);
    const layers = this.layerCount(key.family);
    const placement = this.#place(held, leaseId, key);
    return { placement, newLayer: placement.layer >= layers };
  }

  #place(held: HeldLease, leaseId: string, key: ElementKey): Placement {
    const layers = this.#layers[key.family];
    const bucket = bucketOf(key);
    let layer = 0;
    while (layer < layers.length && layers[layer]?.get(bucket)?.overlaps(key) === true) layer++;
    if (layer >= MAX_LAYERS) {
      throw new EnforcerError(
        'INVALID_LEASE',
        `more than ${MAX_LAYERS} overlapping openings for ${key.text}`,
      );
    }
    if (layer >= layers.length) {
      this.#undo?.push({ kind: 'layers', family: key.family, before: layers.length });
      while (layers.length <= layer) layers.push(new Map());
    }
    const set = setName(key.family, layer);
    const placement: Placement = { leaseId, key, layer, set, keyText: key.text, held };
    this.#bucket(key.family, layer, bucket).add(placement);
    held.placements.push(placement);
    this.#undo?.push(placement);
    return placement;
  }

  #bucket(family: Family, layer: number, bucket: string): PrefixIndex {
    const layers = this.#layers[family];
    while (layers.length <= layer) layers.push(new Map());
    const map = layers[layer] ?? new Map<string, PrefixIndex>();
    let index = map.get(bucket);
    if (index === undefined) map.set(bucket, (index = new PrefixIndex()));
    return index;
  }

  /** Stages the move to `upserts` minus `deletes` (the caller then commits or rolls back). */
  stage(upserts: Target, deletes: Iterable<string>, ended: (expiresAtMs: number) => boolean): Staged {
    const layers: LayerAdd[] = [];
    const removed: Placement[] = [];
    const kept: Placement[] = [];
    const placed: Placement[] = [];
    this.begin();
    try {
      for (const id of deletes) for (const p of this.removeLease(id)) removed.push(p);
      for (const [id, t] of upserts) {
        // An already-ended lease is a delete: re-adding it with the 1 s minimum would widen access.
        if (ended(t.expiresAtMs)) {
          for (const p of this.removeLease(id)) removed.push(p);
          continue;
        }
        const before = this.#leases.get(id);
        if (before !== undefined && before.placements.length > 0) {
          let obsolete: Placement[] | undefined;
          for (const p of before.placements) if (!hasKey(t.keys, p.key)) (obsolete ??= []).push(p);
          for (const p of obsolete ?? []) {
            this.unplace(p);
            removed.push(p);
          }
        }
        const held = this.#hold(id, t.expiresAtMs, before);
        // A lease of many rules is looked up through a map, so it is not quadratic.
        const byText =
          held.placements.length > 8 ? new Map(held.placements.map((p) => [p.key.text, p])) : undefined;
        for (const key of t.keys) {
          const existing = byText !== undefined ? byText.get(key.text) : findPlacement(held.placements, key);
          if (existing !== undefined) {
            kept.push(existing);
            continue;
          }
          const count = this.layerCount(key.family);
          const placement = this.#place(held, id, key);
          if (placement.layer >= count) layers.push({ family: key.family, layer: placement.layer });
          placed.push(placement);
        }
      }
    } catch (e) {
      this.rollback();
      throw e;
    }
    return { layers, removed, kept, placed };
  }

  /** Whether any held element, in any layer, overlaps `key` (e.g. still allows a flow being cut). */
  anyOverlap(key: ElementKey): boolean {
    const bucket = bucketOf(key);
    return this.#layers[key.family].some((layer) => layer.get(bucket)?.overlaps(key) === true);
  }

  /** Every element held, in no particular order. */
  all(): Placement[] {
    const out: Placement[] = [];
    for (const held of this.#leases.values()) for (const p of held.placements) out.push(p);
    return out;
  }
}
