/**
 * The nftables backend: holds leases as elements of the `inet pinhole` table's sets (DESIGN.md §6).
 * Every kernel change is one `nft -f` transaction; the kernel's element timeouts close openings even if
 * this process dies (fail-closed); `reconcile` and the tamper watch put back what someone else changed.
 */
import { cutFlows } from './conntrack-cut.js';
import { ElementIndex, type Placement } from './element-index.js';
import { EnforcerError } from './errors.js';
import { findConflicts } from './nft-conflicts.js';
import { compareWithKernel, type Written } from './reconcile-compare.js';
import { startLoop, type TamperWatch, type WatchTamperOptions } from './tamper-watch.js';
import {
  compareStructure,
  NftExec,
  tableStructure,
  type NftListing,
  type TableStructure,
} from './nft-exec.js';
import type { NftTransaction } from './nft-transaction.js';
import type { ElementKey } from './nft-keys.js';
import {
  chainName,
  isEmptyBatch,
  normalizeAdminCidrs,
  renderBatchChunks,
  renderTableChunks,
  timeoutSeconds,
  type BatchChanges,
  type ElementAdd,
  type ElementDelete,
  type EnforcerMode,
  type TableConfig,
} from './nft-ruleset.js';
import { leasesToTarget, toTarget, type Target } from './lease-target.js';
import type { ApplyBatch, Enforcer, EnforcerLease, LeaseCounter, ReconcileReport } from './types.js';

/** Options of `NftEnforcer`. */
export interface NftEnforcerOptions {
  /** `host`: filter this host's input. `gateway`: filter forwarded traffic (everything not leased is dropped). */
  readonly mode: EnforcerMode;
  /** Argv prefix that runs nft; default `['nft']`. Tests use `['ip', 'netns', 'exec', NS, 'nft']`. */
  readonly nftCommand?: readonly string[];
  /** Added to each lease's end for the kernel timeout, so a renewal in flight never races it; default 5000. */
  readonly graceMs?: number;
  /** Sources always accepted (an admin segment), IPv4 and IPv6 CIDRs. */
  readonly adminCidrs?: readonly string[];
  /** Argv prefix that runs conntrack; default `['conntrack']`. */
  readonly conntrackCommand?: readonly string[];
  /** Delete the conntrack entries of removed openings so established connections stop; default true. */
  readonly cutConnectionsOnDelete?: boolean;
  /** Receives one line per notable event (tampering, conntrack failures, conflicts). */
  readonly log?: (msg: string) => void;
  /** Clock, for tests; default `Date.now`. */
  readonly now?: () => number;
}

/** A lease whose element has less than this left is "dying": its absence is expected, never re-added. */
const DYING_MS = 1500;
/** Held leases are forgotten this long after their kernel timeout must have fired. */
const FORGET_AFTER_MS = 2000;

/**
 * Our own kernel writes since a listing was started. Listings run outside the serial section (a grant
 * must not wait behind a 50k-element read), so a listing may predate transactions of ours: for exactly
 * the slots those wrote it is stale. What they hold is known instead (nft committed them, all or
 * nothing), and a reconcile must still compare that with its target: the target may drop or replace
 * exactly the lease just written (a revocation the agent saw, whose batch has not been applied yet).
 */
interface ListingTracker {
  /** By slot, the last write of ours since the listing began. */
  readonly slots: Map<string, Written>;
  /** A set or rule of ours was added, or the table loaded: the listing's declarations are stale too. */
  structure: boolean;
}

/** A listing of the table and what we wrote while it was read. */
interface KernelRead {
  readonly listing: NftListing | undefined;
  readonly tracker: ListingTracker;
}

/** nftables enforcer. All kernel access is serialised; public methods may be called concurrently. */
export class NftEnforcer implements Enforcer {
  readonly #mode: EnforcerMode;
  readonly #nft: NftExec;
  readonly #graceMs: number;
  readonly #admin: TableConfig['adminCidrs'];
  readonly #conntrack: readonly string[];
  readonly #cut: boolean;
  readonly #log: (msg: string) => void;
  readonly #now: () => number;
  readonly #index = new ElementIndex();
  /** The table's declarations as listed right after our own last structural change. */
  #golden: TableStructure | undefined;
  /**
   * The layer counts of the whole-table load `#golden` was listed after, if it was (not after a layer
   * added to a loaded table, which appends its rule where a load would not). Loading the table again with
   * the same layers recreates exactly those declarations, so a reload need not list them again.
   */
  #goldenLoad: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;
  /** Conntrack cuts in flight, in order (see #cutRemoved). */
  #cuts: Promise<void> = Promise.resolve();
  #watch: TamperWatch | undefined;
  /** When the tamper watch next lists elements (ms, our clock). */
  #nextFullCheck = 0;
  /** Listings in flight outside the serial section (see ListingTracker). */
  readonly #trackers = new Set<ListingTracker>();
  /** Kernel reads in flight outside the serial section; close() waits for them. */
  readonly #reads = new Set<Promise<unknown>>();

  constructor(options: NftEnforcerOptions) {
    this.#mode = options.mode;
    this.#nft = new NftExec(options.nftCommand ?? ['nft']);
    this.#graceMs = options.graceMs ?? 5000;
    this.#admin = normalizeAdminCidrs(options.adminCidrs ?? []);
    this.#conntrack = options.conntrackCommand ?? ['conntrack'];
    this.#cut = options.cutConnectionsOnDelete ?? true;
    this.#log = options.log ?? (() => undefined);
    this.#now = options.now ?? Date.now;
  }

  /** Runs `fn` after everything queued before it; kernel reads and writes never interleave. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined)
      return Promise.reject(new EnforcerError('CLOSED', 'the nft enforcer is closed'));
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs a read-only kernel access outside the serial section. nft re-reads its cache when the ruleset
   * generation changes during a dump, so a listing is a consistent snapshot even while we commit.
   */
  #outside<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined)
      return Promise.reject(new EnforcerError('CLOSED', 'the nft enforcer is closed'));
    const run = fn();
    const settled = run.catch(() => undefined);
    this.#reads.add(settled);
    void settled.then(() => this.#reads.delete(settled));
    return run;
  }

  /** Lists the table outside the serial section, recording what we write meanwhile. */
  async #readKernel(): Promise<KernelRead> {
    const tracker: ListingTracker = { slots: new Map(), structure: false };
    this.#trackers.add(tracker);
    try {
      return { listing: await this.#outside(() => this.#nft.listTable()), tracker };
    } catch (e) {
      this.#trackers.delete(tracker);
      throw e;
    }
  }

  /** Records a committed transaction of ours in every listing in flight. */
  #wrote(deletes: readonly ElementDelete[], adds: readonly ElementAdd[], structure: boolean): void {
    if (this.#trackers.size === 0) return;
    const atMs = this.#now();
    for (const t of this.#trackers) {
      if (structure) t.structure = true;
      // Deletes run before the adds of the same transaction.
      for (const d of deletes) t.slots.set(`${d.set}|${d.keyText}`, undefined);
      for (const a of adds) t.slots.set(`${a.set}|${a.keyText}`, { add: a, atMs });
    }
  }

  #config(): TableConfig {
    return {
      mode: this.#mode,
      adminCidrs: this.#admin,
      layers: { 4: this.#index.layerCount(4), 6: this.#index.layerCount(6) },
    };
  }

  /** `fresh`: the elements are absent from the kernel when the adds run (see ElementAdd.fresh). */
  #adds(placements: Iterable<Placement>, now: number, fresh: boolean, out: ElementAdd[] = []): ElementAdd[] {
    for (const p of placements) {
      const lease = p.held;
      if (lease.expiresAtMs + this.#graceMs <= now) continue;
      const timeoutS = timeoutSeconds(lease.expiresAtMs, this.#graceMs, now);
      out.push({
        set: p.set,
        keyText: p.key.text,
        timeoutS,
        comment: p.leaseId,
        fresh,
      });
    }
    return out;
  }

  #allPlacements(): Placement[] {
    return this.#index.all();
  }

  /** The layer counts of the table as `#config()` renders it now. */
  #layersKey(): string {
    return `${this.#index.layerCount(4)}/${this.#index.layerCount(6)}`;
  }

  /** Lists our declarations as nft prints them; `load`: right after the whole table was loaded. */
  async #refreshGolden(load: boolean): Promise<void> {
    const structure = tableStructure(await this.#nft.listRulesetTerse());
    if (structure === undefined)
      throw new EnforcerError('LIST_FAILED', 'table inet pinhole vanished right after it was loaded');
    this.#golden = structure;
    this.#goldenLoad = load ? this.#layersKey() : undefined;
  }

  #prune(now: number): void {
    for (const [id, lease] of this.#index.leases) {
      if (lease.expiresAtMs + this.#graceMs + FORGET_AFTER_MS < now) this.#index.removeLease(id);
    }
  }

  /**
   * Loads the whole table in one transaction (idempotent: whatever `inet pinhole` held is replaced), with
   * the leases this instance already holds. A restarted agent that already has the lease snapshot should
   * call `reconcile(snapshot)` instead: it loads table and snapshot together, so openings never lapse.
   */
  init(): Promise<void> {
    return this.#serial(async () => {
      const now = this.#now();
      this.#prune(now);
      await this.#nft.apply(renderTableChunks(this.#config(), this.#adds(this.#allPlacements(), now, true)));
      this.#wrote([], [], true);
      await this.#refreshGolden(true);
    });
  }

  /** Applies one batch as one nft transaction; on failure nothing changed and the error is thrown. */
  async apply(batch: ApplyBatch): Promise<void> {
    const target = leasesToTarget(batch.upserts, 'upserts');
    const deletes = new Set(batch.deletes);
    for (const id of deletes) target.delete(id);
    await this.#serial(async () => {
      if (this.#golden === undefined)
        throw new EnforcerError('APPLY_FAILED', 'apply() before init(): call init() first');
      const now = this.#now();
      this.#prune(now);
      const staged = this.#index.stage(target, deletes, (at) => at + this.#graceMs <= now);
      const deleteOps = staged.removed.map((p): ElementDelete => ({ set: p.set, keyText: p.key.text }));
      // Kept elements are in the kernel (re-adding moves their timeouts); placed ones are new, or in a
      // slot this batch deletes first.
      const adds = this.#adds(staged.placed, now, true, this.#adds(staged.kept, now, false));
      const changes: BatchChanges = { layers: staged.layers, deletes: deleteOps, adds };
      if (!isEmptyBatch(changes)) {
        await this.#transact(renderBatchChunks(this.#config(), changes));
        this.#wrote(deleteOps, adds, staged.layers.length > 0);
      }
      this.#index.commit();
      if (staged.layers.length > 0) await this.#refreshGolden(false);
      await this.#cutRemoved(staged.removed.map((p) => p.key));
    });
  }

  /**
   * Runs one nft transaction, writing the script into nft as it is rendered (nft starts meanwhile, see
   * nft-transaction.ts). Spawned after staging, not before: Node spawns by fork(), after which the first
   * write to each page of our heap faults, so JavaScript run right after a spawn is slower (measured:
   * staging a 10k batch behind a spawn cost more than the overlap gained); rendering writes little. On
   * any failure (rendering, nft, the kernel) nft commits nothing and the staged index changes are undone.
   */
  async #transact(chunks: Iterable<string>): Promise<void> {
    let tx: NftTransaction | undefined;
    try {
      // Inside the try: a spawn that throws must undo the staged changes too.
      tx = this.#nft.begin();
      await tx.writeAll(chunks);
      await tx.commit();
    } catch (e) {
      await tx?.abort();
      this.#index.rollback();
      throw e;
    }
  }

  /**
   * Queues the conntrack cuts of removed openings. They run after the kernel change, outside the
   * serialized nft section: the openings are already closed to new connections, and a batch of
   * revocations (one conntrack process per key) must not delay the next grant.
   */
  #cutRemoved(keys: readonly ElementKey[]): Promise<void> {
    if (!this.#cut || keys.length === 0) return Promise.resolve();
    this.#cuts = this.#cuts.then(() =>
      cutFlows({
        command: this.#conntrack,
        removed: keys,
        stillAllowed: (k) => this.#index.anyOverlap(k),
        log: this.#log,
      }).then(() => undefined),
    );
    return Promise.resolve();
  }

  /**
   * Makes the kernel hold exactly `desired` (which replaces what this instance holds), in one
   * transaction: incremental when the table's declarations are intact, a full reload otherwise (which
   * resets element counters). Also the first call after a restart: it then loads the table itself.
   */
  async reconcile(desired: ReadonlyMap<string, EnforcerLease>): Promise<ReconcileReport> {
    const read = await this.#readKernel();
    // `desired` is read when the turn comes, not at the call: applies that queued while the kernel was
    // listed go first, and a live map (the agent's) then already includes what they applied.
    return this.#serial(() => this.#reconcileTo(toTarget(desired, 'desired'), read)).finally(() =>
      this.#trackers.delete(read.tracker),
    );
  }

  #heldAsTarget(): Target {
    const t: Target = new Map();
    for (const [id, lease] of this.#index.leases) {
      t.set(id, {
        expiresAtMs: lease.expiresAtMs,
        keys: lease.placements.map((p) => p.key),
      });
    }
    return t;
  }

  async #reconcileTo(target: Target, read: KernelRead): Promise<ReconcileReport> {
    this.#trackers.delete(read.tracker);
    let listing = read.listing;
    let stale: ReadonlyMap<string, Written> = read.tracker.slots;
    if (read.tracker.structure) {
      // We changed our own declarations since the read: list again, now that nothing of ours can write.
      listing = await this.#nft.listTable();
      stale = new Map();
    }
    const now = this.#now();
    this.#prune(now);
    // Not initialised (a restarted agent's first call): the reload is the initial load, not a repair.
    const initialised = this.#golden !== undefined;
    const diffs =
      this.#golden === undefined
        ? ['table not initialised']
        : compareStructure(this.#golden, listing === undefined ? undefined : tableStructure(listing));
    const found = compareWithKernel(this.#index, target, listing, stale, {
      nowMs: now,
      graceMs: this.#graceMs,
      dyingMs: DYING_MS,
    });
    const { diff, staged } = found;
    const reload = diffs.length > 0 || found.unparsable;
    let changes: BatchChanges;
    if (reload) {
      const alive: Placement[] = [];
      for (const w of found.wanted) if (w.alive) alive.push(w.placement);
      changes = { layers: [], deletes: [], adds: this.#adds(alive, now, true) };
      await this.#transact(renderTableChunks(this.#config(), changes.adds));
    } else {
      changes = {
        layers: staged.layers,
        deletes: diff.extra.map((e): ElementDelete => ({ set: e.set, keyText: e.keyText ?? '' })),
        // Missing elements are absent, or replaced (their old element is among the deletes, which run first).
        adds: this.#adds(
          diff.missing.map((w) => w.placement),
          now,
          true,
          this.#adds(
            diff.refresh.map((w) => w.placement),
            now,
            false,
          ),
        ),
      };
      if (!isEmptyBatch(changes)) await this.#transact(renderBatchChunks(this.#config(), changes));
    }
    const structural = reload || staged.layers.length > 0;
    if (reload || !isEmptyBatch(changes)) this.#wrote(changes.deletes, changes.adds, structural);
    this.#index.commit();
    // A reload like the load the golden copy was listed after needs no listing (see #goldenLoad).
    if (structural && !(reload && this.#goldenLoad === this.#layersKey())) await this.#refreshGolden(reload);
    const events = [...found.tamperEvents];
    let tampered = events.length > 0;
    if (reload && initialised) {
      tampered = true;
      events.push(
        ...diffs.map((d) => `${d}: reloaded the table`),
        ...(found.unparsable ? ['foreign elements of unknown shape: reloaded the table'] : []),
      );
    }
    if (tampered) for (const event of events) this.#log(`tamper: ${event}`);
    await this.#cutRemoved(staged.removed.map((p) => p.key));
    const { missing, extra } = { missing: diff.missing.length, extra: diff.extra.length };
    if (missing > 0) events.push(`${missing} opening(s) were absent from the kernel and were added`);
    if (extra > 0) events.push(`${extra} opening(s) in the kernel were not wanted and were removed`);
    return { tampered, missing, extra, events };
  }

  /** Per-lease counters of the leases held, summed over their elements (from one full listing). */
  counters(): Promise<LeaseCounter[]> {
    // Read-only and consistent on its own: it need not wait for (nor hold up) queued applies.
    return this.#outside(async () => {
      const listing = await this.#nft.listTable({ counters: true });
      const sums = new Map<string, LeaseCounter>(
        [...this.#index.leases.keys()].map((id) => [id, { leaseId: id, packets: 0, bytes: 0 }]),
      );
      for (const set of listing?.sets ?? []) {
        for (const e of set.elements) {
          const c = sums.get(e.comment ?? '');
          if (c !== undefined) {
            c.packets += e.packets;
            c.bytes += e.bytes;
          }
        }
      }
      return [...sums.values()];
    });
  }

  /**
   * Watches for tampering: every `intervalMs` a terse ruleset listing (~6 ms even with 50k elements)
   * compared with our table's declarations; a full element check as often as it costs at most ~10% of the
   * time. A flushed or deleted table is reloaded within about one interval. Replaces a previous watch.
   */
  watchTamper(options: WatchTamperOptions): TamperWatch {
    this.#watch?.stop();
    const intervalMs = options.intervalMs ?? 250;
    const maxFull = options.maxFullCheckIntervalMs ?? 30_000;
    const watch = startLoop(intervalMs, async () => {
      try {
        const report = await this.#tamperCheck(intervalMs, maxFull);
        if (report?.tampered === true && this.#watch === watch) options.onTamper(report);
      } catch (e) {
        if (this.#closing === undefined)
          this.#log(`tamper watch: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    this.#watch = watch;
    return watch;
  }

  /**
   * Both listings run outside the serial section, so a grant never waits behind the watch; only the
   * repair (a diff and at most one transaction) takes a turn.
   */
  async #tamperCheck(intervalMs: number, maxFull: number): Promise<ReconcileReport | undefined> {
    const golden = this.#golden;
    if (golden === undefined) return undefined;
    const start = this.#now();
    if (start < this.#nextFullCheck) {
      const listing = await this.#outside(() => this.#nft.listRulesetTerse());
      // A layer of ours added meanwhile changed the golden copy: the full check below sorts that out.
      if (this.#golden === golden && compareStructure(golden, tableStructure(listing)).length === 0)
        return undefined;
    }
    const read = await this.#readKernel();
    const report = await this.#serial(() => this.#reconcileTo(this.#heldAsTarget(), read)).finally(() =>
      this.#trackers.delete(read.tracker),
    );
    const took = this.#now() - start;
    this.#nextFullCheck = this.#now() + Math.min(maxFull, Math.max(intervalMs, took * 10));
    return report;
  }

  /**
   * Other tables hooked where ours is, that drop: an accept in our table does not override a drop in
   * another base chain on the same hook, so leases would be granted and still not work.
   */
  detectConflicts(): Promise<string[]> {
    return this.#serial(async () => {
      const warnings = findConflicts(await this.#nft.listRulesetTerse(), chainName(this.#mode));
      for (const w of warnings) this.#log(`conflict: ${w}`);
      return warnings;
    });
  }

  /** Stops the tamper watch and waits for queued work. The table stays: kernel timeouts close openings. */
  /** Resolves once the connection cuts of every delete applied so far have run. */
  settled(): Promise<void> {
    return this.#cuts;
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#watch?.stop();
      this.#closing = Promise.all([...this.#reads])
        .then(() => this.#queue)
        .then(() => this.#cuts);
    }
    return this.#closing;
  }
}
