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
import { bucketOf, mask, type ElementKey, type Family } from './nft-keys.js';
import { EnforcerError } from './errors.js';
import type { Target } from './lease-target.js';
import { setName, type LayerAdd } from './nft-ruleset.js';

/** One element this enforcer placed. */
export interface Placement {
  readonly leaseId: string;
  readonly key: ElementKey;
  readonly layer: number;
}

/** A lease as held in the kernel. */
export interface HeldLease {
  expiresAtMs: number;
  /** By key text. */
  readonly placements: Map<string, Placement>;
}

/** More layers than this means something pathological (thousands of identical grants); refuse. */
export const MAX_LAYERS = 64;

type Undo = () => void;

/** The placements of one source network: almost always one, so it is held bare. */
type Slot = Placement | Placement[];

function slotOverlaps(slot: Slot | undefined, key: ElementKey): boolean {
  if (slot === undefined) return false;
  if (!Array.isArray(slot)) return slot.key.portFrom <= key.portTo && key.portFrom <= slot.key.portTo;
  for (const p of slot) if (p.key.portFrom <= key.portTo && key.portFrom <= p.key.portTo) return true;
  return false;
}

/**
 * The elements of one (family, protocol, destination) bucket, by source prefix length and network, so that
 * the overlap test looks up containing prefixes directly instead of scanning every element: placing 10k
 * leases must not be quadratic.
 */
class PrefixIndex {
  readonly #byLen = new Map<number, Map<bigint, Slot>>();

  add(p: Placement): void {
    let nets = this.#byLen.get(p.key.srcLen);
    if (nets === undefined) this.#byLen.set(p.key.srcLen, (nets = new Map<bigint, Slot>()));
    const slot = nets.get(p.key.srcNet);
    if (slot === undefined) nets.set(p.key.srcNet, p);
    else if (Array.isArray(slot)) slot.push(p);
    else if (slot !== p) nets.set(p.key.srcNet, [slot, p]);
  }

  delete(p: Placement): void {
    const nets = this.#byLen.get(p.key.srcLen);
    const slot = nets?.get(p.key.srcNet);
    if (nets === undefined || slot === undefined) return;
    if (slot === p) nets.delete(p.key.srcNet);
    else if (Array.isArray(slot)) {
      const i = slot.indexOf(p);
      if (i >= 0) slot.splice(i, 1);
      if (slot.length === 1 && slot[0] !== undefined) nets.set(p.key.srcNet, slot[0]);
      else if (slot.length === 0) nets.delete(p.key.srcNet);
    }
    if (nets.size === 0) this.#byLen.delete(p.key.srcLen);
  }

  /** Whether any element overlaps `key` (same bucket assumed: only source and ports are compared). */
  overlaps(key: ElementKey): boolean {
    const width = key.family === 4 ? 32 : 128;
    for (const [len, nets] of this.#byLen) {
      if (len <= key.srcLen) {
        // A shorter (or equal) prefix overlaps only if it contains the key's network.
        if (slotOverlaps(nets.get(key.srcNet & mask(key.family, len)), key)) return true;
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
    for (let i = undo.length - 1; i >= 0; i--) undo[i]?.();
  }

  #record(undo: Undo): void {
    this.#undo?.push(undo);
  }

  /** Makes sure `leaseId` is held, with `expiresAtMs`. */
  holdLease(leaseId: string, expiresAtMs: number): HeldLease {
    let held = this.#leases.get(leaseId);
    if (held === undefined) {
      const created: HeldLease = { expiresAtMs, placements: new Map() };
      this.#leases.set(leaseId, created);
      this.#record(() => this.#leases.delete(leaseId));
      held = created;
    } else if (held.expiresAtMs !== expiresAtMs) {
      const before = held.expiresAtMs;
      const h = held;
      h.expiresAtMs = expiresAtMs;
      this.#record(() => (h.expiresAtMs = before));
    }
    return held;
  }

  /** Removes one element of a lease. */
  unplace(p: Placement): void {
    const held = this.#leases.get(p.leaseId);
    held?.placements.delete(p.key.text);
    const bucket = this.#layers[p.key.family][p.layer]?.get(bucketOf(p.key));
    bucket?.delete(p);
    this.#record(() => {
      held?.placements.set(p.key.text, p);
      this.#bucket(p.key.family, p.layer, bucketOf(p.key)).add(p);
    });
  }

  /** Removes a lease and returns the elements it had. */
  removeLease(leaseId: string): Placement[] {
    const held = this.#leases.get(leaseId);
    if (held === undefined) return [];
    const removed = [...held.placements.values()];
    for (const p of removed) this.unplace(p);
    this.#leases.delete(leaseId);
    this.#record(() => this.#leases.set(leaseId, held));
    return removed;
  }

  /**
   * Places `key` for a held lease in the lowest layer where it overlaps nothing, opening a new layer if
   * needed (`newLayer` is then true: the caller must create that set and its rule in the same transaction).
   */
  place(leaseId: string, key: ElementKey): { placement: Placement; newLayer: boolean } {
    const held = this.#leases.get(leaseId);
    if (held === undefined) throw new Error(`place: lease ${leaseId} is not held`);
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
    const newLayer = layer >= this.layerCount(key.family);
    if (layer >= layers.length) {
      const before = layers.length;
      while (layers.length <= layer) layers.push(new Map());
      this.#record(() => (layers.length = before));
    }
    const placement: Placement = { leaseId, key, layer };
    this.#bucket(key.family, layer, bucket).add(placement);
    held.placements.set(key.text, placement);
    this.#record(() => {
      held.placements.delete(key.text);
      layers[layer]?.get(bucket)?.delete(placement);
    });
    return { placement, newLayer };
  }

  #bucket(family: Family, layer: number, bucket: string): PrefixIndex {
    const layers = this.#layers[family];
    while (layers.length <= layer) layers.push(new Map());
    const map = layers[layer] ?? new Map<string, PrefixIndex>();
    let index = map.get(bucket);
    if (index === undefined) map.set(bucket, (index = new PrefixIndex()));
    return index;
  }

  /**
   * Stages the move to `upserts` minus `deletes` (the caller then commits or rolls back). Returns the new
   * layers, the placements removed, and the placements to (re)write: `kept` ones (already in the kernel:
   * re-adding is how their timeouts move) and newly `placed` ones.
   */
  stage(
    upserts: Target,
    deletes: Iterable<string>,
    ended: (expiresAtMs: number) => boolean,
  ): { layers: LayerAdd[]; removed: Placement[]; kept: Placement[]; placed: Placement[] } {
    const layers: LayerAdd[] = [];
    const removed: Placement[] = [];
    const kept: Placement[] = [];
    const placed: Placement[] = [];
    this.begin();
    try {
      for (const id of deletes) removed.push(...this.removeLease(id));
      for (const [id, t] of upserts) {
        // An already-ended lease is a delete: re-adding it with the 1 s minimum would widen access.
        if (ended(t.expiresAtMs)) {
          removed.push(...this.removeLease(id));
          continue;
        }
        const before = this.#leases.get(id);
        if (before !== undefined && before.placements.size > 0) {
          for (const p of [...before.placements.values()]) {
            if (!t.keys.some((k) => k.text === p.key.text)) {
              this.unplace(p);
              removed.push(p);
            }
          }
        }
        const held = this.holdLease(id, t.expiresAtMs);
        for (const key of t.keys) {
          const existing = held.placements.get(key.text);
          if (existing !== undefined) {
            kept.push(existing);
            continue;
          }
          const { placement, newLayer } = this.place(id, key);
          if (newLayer) layers.push({ family: key.family, layer: placement.layer });
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

  /** Every element held, grouped by set name. */
  bySet(): Map<string, Placement[]> {
    const out = new Map<string, Placement[]>();
    for (const held of this.#leases.values()) {
      for (const p of held.placements.values()) {
        const name = setName(p.key.family, p.layer);
        const list = out.get(name);
        if (list === undefined) out.set(name, [p]);
        else list.push(p);
      }
    }
    return out;
  }
}
