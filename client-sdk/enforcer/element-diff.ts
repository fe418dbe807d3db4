/**
 * The pure part of reconcile: compare the elements the kernel lists with what we believed it held and
 * with what it should hold. Slots are `"<set>|<key text>"`, so an element in the wrong layer set counts as
 * both extra and missing.
 */
import type { NftElement } from './nft-exec.js';

/** A listed element and the set it is in. */
export interface KernelElement extends NftElement {
  readonly set: string;
}

/** An element the kernel should hold. */
export interface WantedElement {
  readonly leaseId: string;
  /** The timeout it would be written with now. */
  readonly timeoutS: number;
  /** False when less than the dying margin is left: its absence is expected and it is not re-added. */
  readonly alive: boolean;
}

/** What differs, by slot. */
export interface ElementDiff<W extends WantedElement> {
  /** Findings that mean someone else changed the kernel. */
  readonly tamperEvents: string[];
  /** Kernel elements to remove: unwanted, owned by another lease, or without a timeout (would never expire). */
  readonly extra: KernelElement[];
  /** Wanted elements the kernel lacks (or holds in a form that must be replaced). */
  readonly missing: W[];
  /** Wanted elements present but with an expiry more than 2 s off (a renewal we missed): re-add. */
  readonly refresh: W[];
}

/** Element findings listed one by one before the rest are summarised. */
const MAX_EVENTS = 20;

function describe(slot: string): string {
  return slot.replace('|', ' ');
}

/**
 * Diffs one listing. `believed` maps slot -> lease id for elements we wrote and expect alive;
 * `knownLease` tells whether a comment names a lease we held or are asked to hold (not tampering).
 */
export function diffElements<W extends WantedElement>(
  believed: ReadonlyMap<string, string>,
  kernel: ReadonlyMap<string, KernelElement>,
  wanted: ReadonlyMap<string, W>,
  knownLease: (leaseId: string) => boolean,
): ElementDiff<W> {
  const tamperEvents: string[] = [];
  for (const [slot, leaseId] of believed) {
    if (kernel.get(slot)?.comment !== leaseId)
      tamperEvents.push(`element ${describe(slot)} of lease ${leaseId} was missing`);
  }
  for (const [slot, e] of kernel) {
    const ours = e.comment !== undefined && (believed.get(slot) === e.comment || knownLease(e.comment));
    if (!ours)
      tamperEvents.push(`unknown element ${describe(slot)} (comment ${JSON.stringify(e.comment ?? null)})`);
  }
  // An element without a timeout cannot be given one by re-adding it (the kernel only updates an existing
  // timeout), so it is replaced.
  const replace = (e: KernelElement | undefined, w: W): boolean =>
    e?.comment !== w.leaseId || e.timeoutS === undefined;
  const extra = [...kernel].filter(([slot, e]) => {
    const w = wanted.get(slot);
    return w === undefined || replace(e, w);
  });
  const missing: W[] = [];
  const refresh: W[] = [];
  for (const [slot, w] of wanted) {
    const e = kernel.get(slot);
    if (!w.alive) continue;
    if (replace(e, w)) missing.push(w);
    else if (e?.expiresS !== undefined && Math.abs(w.timeoutS - e.expiresS) > 2) refresh.push(w);
  }
  // A flushed 50k-element table must not produce a 50k-line report.
  const shown =
    tamperEvents.length > MAX_EVENTS
      ? [...tamperEvents.slice(0, MAX_EVENTS), `... and ${tamperEvents.length - MAX_EVENTS} more`]
      : tamperEvents;
  return { tamperEvents: shown, extra: extra.map(([, e]) => e), missing, refresh };
}
