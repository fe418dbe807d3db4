/**
 * The pure part of reconcile: compare the elements the kernel lists with what we believed it held and
 * with what it should hold. An element is identified by its set and key text, so an element in the
 * wrong layer set counts as both extra and missing.
 *
 * Shaped for 50k-element listings: the kernel's elements are indexed once, by set and then by key text
 * (the key text strings of our placements are long-lived, so their hashes are computed once, not per
 * reconcile), and what we believed and want are plain lists looked up in that index, not maps of their
 * own. A reconcile that finds everything in place does one lookup per element.
 */
import type { NftElement } from './nft-exec.js';

/** A listed element (it names its set). */
export type KernelElement = NftElement;

/** The kernel's elements by set name, then by key text. */
export type KernelIndex = Map<string, Map<string, KernelElement>>;

/** An element we wrote, or want, in `set` with key text `keyText`. */
export interface ElementSlot {
  readonly set: string;
  readonly keyText: string;
}

/** An element we believed the kernel held: we wrote it, and it cannot have timed out yet. */
export interface BelievedElement extends ElementSlot {
  readonly leaseId: string;
}

/** An element the kernel should hold. */
export interface WantedElement extends ElementSlot {
  readonly leaseId: string;
  /** The timeout it would be written with now. */
  readonly timeoutS: number;
  /** False when less than the dying margin is left: its absence is expected and it is not re-added. */
  readonly alive: boolean;
}

/** What differs, element by element. */
export interface ElementDiff<W extends WantedElement> {
  /** Kernel elements to remove: unwanted, owned by another lease, or without a timeout (would never expire). */
  readonly extra: KernelElement[];
  /** Wanted elements the kernel lacks (or holds in a form that must be replaced). */
  readonly missing: W[];
  /** Wanted elements present but with an expiry more than 2 s off (a renewal we missed): re-add. */
  readonly refresh: W[];
}

/** Element findings listed one by one before the rest are summarised. */
const MAX_EVENTS = 20;

/** Adds `e` (whose key text is `keyText`) to `index`. */
export function indexElement(index: KernelIndex, keyText: string, e: KernelElement): void {
  let bySet = index.get(e.set);
  if (bySet === undefined) index.set(e.set, (bySet = new Map<string, KernelElement>()));
  bySet.set(keyText, e);
}

function lookup(index: KernelIndex, s: ElementSlot): KernelElement | undefined {
  return index.get(s.set)?.get(s.keyText);
}

/** Collects findings, keeping the first MAX_EVENTS lines and only counting the rest. */
class Findings {
  readonly lines: string[] = [];
  #more = 0;

  /**
   * Whether the next finding is listed (then `add` its line) or only counted: a flushed 50k table has
   * 50k findings, whose lines are not built.
   */
  listed(): boolean {
    if (this.lines.length < MAX_EVENTS) return true;
    this.#more++;
    return false;
  }

  add(line: string): void {
    this.lines.push(line);
  }

  /** The lines, with `... and N more` when some were only counted. */
  shown(): string[] {
    return this.#more > 0 ? [...this.lines, `... and ${this.#more} more`] : this.lines;
  }
}

/**
 * Findings that mean someone else changed the kernel: elements we believed there that are missing (or
 * now carry another comment), and elements whose comment names no lease we hold or are asked to hold
 * (`knownLease`). The first MAX_EVENTS are listed, the rest counted.
 */
export function findTampering(
  believed: Iterable<BelievedElement>,
  kernel: KernelIndex,
  knownLease: (leaseId: string) => boolean,
): string[] {
  const findings = new Findings();
  for (const b of believed) {
    if (lookup(kernel, b)?.comment !== b.leaseId && findings.listed())
      findings.add(`element ${b.set} ${b.keyText} of lease ${b.leaseId} was missing`);
  }
  for (const [set, elements] of kernel) {
    for (const [keyText, e] of elements) {
      if ((e.comment === undefined || !knownLease(e.comment)) && findings.listed())
        findings.add(`unknown element ${set} ${keyText} (comment ${JSON.stringify(e.comment ?? null)})`);
    }
  }
  return findings.shown();
}

/**
 * What to change so the kernel holds exactly `wanted` (distinct slots). When every kernel element is
 * matched by a wanted one, as in a reconcile that finds nothing to do, there is no second pass.
 */
export function diffElements<W extends WantedElement>(
  kernel: KernelIndex,
  wanted: readonly W[],
): ElementDiff<W> {
  // An element without a timeout cannot be given one by re-adding it (the kernel only updates an existing
  // timeout), so it is replaced.
  const replace = (e: KernelElement | undefined, w: W): boolean =>
    e?.comment !== w.leaseId || e.timeoutS === undefined;
  const missing: W[] = [];
  const refresh: W[] = [];
  let matched = 0;
  for (const w of wanted) {
    const e = lookup(kernel, w);
    if (e !== undefined && !replace(e, w)) {
      matched++;
      if (w.alive && e.expiresS !== undefined && Math.abs(w.timeoutS - e.expiresS) > 2) refresh.push(w);
    } else if (w.alive) missing.push(w);
  }
  let size = 0;
  for (const elements of kernel.values()) size += elements.size;
  const extra: KernelElement[] = [];
  if (matched < size) {
    const keep = new Map<string, Set<string>>();
    for (const w of wanted) {
      if (replace(lookup(kernel, w), w)) continue;
      let keys = keep.get(w.set);
      if (keys === undefined) keep.set(w.set, (keys = new Set<string>()));
      keys.add(w.keyText);
    }
    for (const [set, elements] of kernel) {
      const keys = keep.get(set);
      for (const [keyText, e] of elements) if (keys?.has(keyText) !== true) extra.push(e);
    }
  }
  return { extra, missing, refresh };
}
