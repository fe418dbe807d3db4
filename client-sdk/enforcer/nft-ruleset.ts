/**
 * Pure rendering of the `inet pinhole` table and of change batches, as `nft -f` text. No I/O, no clock:
 * callers pass `nowMs`, so everything here is unit-testable.
 *
 * Verified on nftables 1.0.6 / kernel 6.18 (see test/netns/nft-enforcer.test.ts):
 * - Re-`add` of an existing element updates its timeout only when the timeout VALUE changes; re-adding
 *   `timeout 60s` to an element added with `timeout 60s` leaves its expiry running. So every element is
 *   rendered with `timeout Ns expires Ns`, which always resets the expiry. The counter survives re-add.
 * - `delete element` of an absent element fails the whole transaction (ENOENT) and nft 1.0.6 has no
 *   `destroy element`. Deletes are rendered as `add element {k timeout 1s}` + `delete element {k}`: the add
 *   is a no-op (or creates the element) so the delete always finds it, and the pair nets out to "absent".
 * - An element overlapping another in a concatenated-range set fails with "File exists": see
 *   element-index.ts for the layered sets that avoid it.
 */
import { EnforcerError } from './errors.js';
import { parseCidr, formatAddress, type Family } from './nft-keys.js';

/** Where the enforcer filters: the host's own input, or traffic forwarded through a gateway. */
export type EnforcerMode = 'host' | 'gateway';

/** The table every Pinhole enforcer owns. Nothing else in the ruleset is touched. */
export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'pinhole';
const TABLE = `${TABLE_FAMILY} ${TABLE_NAME}`;

/** Comments are stored as set-element user data; nft refuses longer ones. */
export const MAX_COMMENT_LENGTH = 128;

/** Shape of the table: what `renderTable` needs besides the elements. */
export interface TableConfig {
  readonly mode: EnforcerMode;
  /** Already normalised by `normalizeAdminCidrs`. */
  readonly adminCidrs: { readonly v4: readonly string[]; readonly v6: readonly string[] };
  /** Number of overlap layers (sets) per family, at least 1. */
  readonly layers: Readonly<Record<Family, number>>;
}

/** One element to add or refresh. */
export interface ElementAdd {
  readonly set: string;
  readonly keyText: string;
  readonly timeoutS: number;
  readonly comment: string;
  /**
   * True when the element is absent from the kernel when this add runs (new, or deleted earlier in the
   * same transaction): it then starts with its full timeout and `expires` is left out, which nft
   * parses measurably faster. Otherwise `expires` resets a re-added element's expiry (file comment).
   */
  readonly fresh?: boolean;
}

/** One element to remove (whether or not the kernel still has it). */
export interface ElementDelete {
  readonly set: string;
  readonly keyText: string;
}

/** A new overlap layer: a set and its lookup rule, created in the same transaction as its first element. */
export interface LayerAdd {
  readonly family: Family;
  readonly layer: number;
}

/** The name of the base chain for `mode`. */
export function chainName(mode: EnforcerMode): 'input' | 'forward' {
  return mode === 'host' ? 'input' : 'forward';
}

/** Set names by family and layer, built once: they are map keys for every element of a batch. */
const SET_NAMES: Record<Family, string[]> = { 4: [], 6: [] };

/** Name of the set holding `family`'s elements of overlap `layer`. */
export function setName(family: Family, layer: number): string {
  const names = SET_NAMES[family];
  let name = names[layer];
  if (name === undefined) {
    name = layer === 0 ? `open${family}` : `open${family}_${layer}`;
    // Layers are few (at most MAX_LAYERS); anything beyond is not kept.
    if (layer < 256) names[layer] = name;
  }
  return name;
}

/**
 * Kernel timeout of an element in whole seconds: the lease end plus grace, rounded up so the kernel never
 * closes before the server does, and at least 1 s because nft rejects a zero timeout.
 */
export function timeoutSeconds(expiresAtMs: number, graceMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((expiresAtMs + graceMs - nowMs) / 1000));
}

const LEASE_ID = /^[A-Za-z0-9._:@+=/-]+$/;

/** Whether `leaseId` can be an element comment (see `validateLeaseId`). */
export function isLeaseId(leaseId: string): boolean {
  return leaseId.length <= MAX_COMMENT_LENGTH && LEASE_ID.test(leaseId);
}

/**
 * Checks a lease id can be an element comment. Comments are written inside double quotes with no escape
 * syntax in nft, so the alphabet is restricted rather than escaped.
 */
export function validateLeaseId(leaseId: string, field: string): void {
  if (!isLeaseId(leaseId)) {
    throw new EnforcerError(
      'INVALID_LEASE',
      `${field}: ${JSON.stringify(leaseId.slice(0, 40))} cannot be an nft comment; use 1-${MAX_COMMENT_LENGTH} characters of A-Z a-z 0-9 . _ : @ + = / -`,
    );
  }
}

/** Validates, masks, de-duplicates and splits admin CIDRs by family, dropping ones another contains. */
export function normalizeAdminCidrs(cidrs: readonly string[]): TableConfig['adminCidrs'] {
  const parsed = cidrs.map((c, i) => {
    const p = parseCidr(c);
    if (p === undefined)
      throw new EnforcerError(
        'INVALID_CONFIG',
        `adminCidrs[${i}]: ${JSON.stringify(c)} is not an address or CIDR`,
      );
    return p;
  });
  const out = { v4: [] as string[], v6: [] as string[] };
  for (const family of [4, 6] as const) {
    const mine = parsed.filter((p) => p.family === family).sort((a, b) => a.len - b.len);
    const kept: typeof mine = [];
    const width = family === 4 ? 32 : 128;
    for (const p of mine) {
      // Overlapping elements in one anonymous set are refused: keep only the outermost prefixes.
      const covered = kept.some((k) => p.net >> BigInt(width - k.len) === k.net >> BigInt(width - k.len));
      if (!covered) kept.push(p);
    }
    out[family === 4 ? 'v4' : 'v6'] = kept.map((p) => `${formatAddress(family, p.net)}/${p.len}`);
  }
  return out;
}

const KEY_TYPE: Record<Family, string> = {
  4: 'ipv4_addr . inet_proto . inet_service . ipv4_addr',
  6: 'ipv6_addr . inet_proto . inet_service . ipv6_addr',
};

/** The chain rule that looks packets up in one layer's set. */
function lookupRule(family: Family, layer: number): string {
  const ip = family === 4 ? 'ip' : 'ip6';
  return `${ip} saddr . meta l4proto . th dport . ${ip} daddr @${setName(family, layer)} accept`;
}

function setBody(family: Family): string {
  return `    type ${KEY_TYPE[family]}\n    flags interval,timeout\n    counter\n`;
}

/** The chain definition. Rule order matters: cheap, common accepts first; the lease lookups last. */
function chainBody(cfg: TableConfig): string[] {
  const chain = chainName(cfg.mode);
  const lines = [
    // Gateway mode drops everything forwarded that no lease allows: put the gateway in front of hosts
    // that are meant to be reachable only through leases.
    `    type filter hook ${chain} priority 0; policy drop;`,
    '    ct state established,related accept',
  ];
  if (cfg.mode === 'host') lines.push('    iif lo accept');
  if (cfg.adminCidrs.v4.length > 0) lines.push(`    ip saddr { ${cfg.adminCidrs.v4.join(', ')} } accept`);
  if (cfg.adminCidrs.v6.length > 0) lines.push(`    ip6 saddr { ${cfg.adminCidrs.v6.join(', ')} } accept`);
  if (cfg.mode === 'host') {
    // Without neighbour discovery a host with policy drop has no working IPv6 at all. Hop limit 255 means
    // the packet was not routed (RFC 4861 §7.1.1), so this opens nothing beyond the link.
    lines.push(
      '    icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept',
    );
  }
  for (const family of [4, 6] as const) {
    for (let layer = 0; layer < cfg.layers[family]; layer++) lines.push(`    ${lookupRule(family, layer)}`);
  }
  return lines;
}

/** The `table inet pinhole { ... }` block without elements. */
export function renderTableDefinition(cfg: TableConfig): string {
  const parts = [`table ${TABLE} {`];
  for (const family of [4, 6] as const) {
    for (let layer = 0; layer < cfg.layers[family]; layer++)
      parts.push(`  set ${setName(family, layer)} {\n${setBody(family)}  }`);
  }
  // A chain's closing brace must follow a newline: `...; }` on one line is a syntax error in nft -f.
  parts.push(`  chain ${chainName(cfg.mode)} {\n${chainBody(cfg).join('\n')}\n  }`, '}');
  return parts.join('\n') + '\n';
}

/**
 * Rendered scripts come in chunks of at least this many characters (the last one may be shorter), so
 * they can go to nft while the rest is rendered, in few pipe writes, without the whole script in memory.
 */
export const CHUNK_CHARS = 64 * 1024;

/** Between elements of one `add element` list: one element per line, so nft's errors point at one. */
const SEPARATOR = ',\n  ';

function elementText(e: ElementAdd): string {
  return e.fresh === true
    ? `${e.keyText} timeout ${e.timeoutS}s comment "${e.comment}"`
    : `${e.keyText} timeout ${e.timeoutS}s expires ${e.timeoutS}s comment "${e.comment}"`;
}

/** `items` by set, in first-seen order; one set (the usual bulk batch) costs one pass and no copies. */
function groupBySet<T extends { readonly set: string }>(items: readonly T[]): Map<string, readonly T[]> {
  const first = items[0]?.set;
  if (items.every((i) => i.set === first)) return new Map(first === undefined ? [] : [[first, items]]);
  const out = new Map<string, T[]>();
  for (const item of items) {
    const list = out.get(item.set);
    if (list === undefined) out.set(item.set, [item]);
    else list.push(item);
  }
  return out;
}

/**
 * A piece of a script, and whether it ends inside an element list: nft, reading to its end there,
 * refuses the whole script (a brace is left open), whereas after a complete command it would commit the
 * commands before. Chunks are only cut at such points.
 */
type Part = readonly [text: string, open: boolean];

/**
 * `parts` regrouped so every chunk but the last has at least CHUNK_CHARS characters and ends inside an
 * element list. A chunk boundary is where a write to nft may stop if this process dies mid-script (see
 * nft-transaction.ts); a boundary there makes what nft has read unparsable.
 */
function* coalesce(parts: Iterable<Part>): Generator<string, void, undefined> {
  let out = '';
  for (const [text, open] of parts) {
    out += text;
    if (open && out.length >= CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  if (out !== '') yield out;
}

/** One command per set listing `items` rendered by `text`, in parts of about CHUNK_CHARS. */
function* setCommands<T extends { readonly set: string }>(
  verb: 'add' | 'delete',
  items: readonly T[],
  text: (item: T) => string,
): Generator<Part, void, undefined> {
  for (const [set, list] of groupBySet(items)) {
    let out = `${verb} element ${TABLE} ${set} {\n  `;
    for (let i = 0; i < list.length; i++) {
      const item = list[i] as T;
      out += i === 0 ? text(item) : SEPARATOR + text(item);
      if (out.length >= CHUNK_CHARS) {
        yield [out, true];
        out = '';
      }
    }
    yield [`${out}\n}\n`, false];
  }
}

/** One `add element` command per set: nft parses one big command much faster than many small ones. */
export function renderAddChunks(adds: readonly ElementAdd[]): Generator<string, void, undefined> {
  return coalesce(setCommands('add', adds, elementText));
}

/** Deletes that succeed whether or not the element is still there (see the file comment). */
export function renderDeleteChunks(deletes: readonly ElementDelete[]): Generator<string, void, undefined> {
  return coalesce(deleteCommands(deletes));
}

function* deleteCommands(deletes: readonly ElementDelete[]): Generator<Part, void, undefined> {
  for (const [, items] of groupBySet(deletes)) {
    yield* setCommands('add', items, (d) => `${d.keyText} timeout 1s`);
    yield* setCommands('delete', items, (d) => d.keyText);
  }
}

/** `renderAddChunks` as one string. */
export function renderAdds(adds: readonly ElementAdd[]): string {
  return [...renderAddChunks(adds)].join('');
}

/** `renderDeleteChunks` as one string. */
export function renderDeletes(deletes: readonly ElementDelete[]): string {
  return [...renderDeleteChunks(deletes)].join('');
}

/** Adds one layer's set and appends its lookup rule to the chain (after the existing lookups). */
export function renderLayerAdd(cfg: TableConfig, add: LayerAdd): string {
  return (
    `add set ${TABLE} ${setName(add.family, add.layer)} {\n${setBody(add.family)}}\n` +
    `add rule ${TABLE} ${chainName(cfg.mode)} ${lookupRule(add.family, add.layer)}\n`
  );
}

/**
 * The whole table, idempotently: `add table` (so `delete` cannot fail), `delete table` (drop whatever is
 * there, including a tamperer's rules), the definition, then the elements. One `nft -f` run is one
 * transaction, so there is no moment where the table is missing or half-built.
 */
export function renderTableChunks(
  cfg: TableConfig,
  adds: readonly ElementAdd[],
): Generator<string, void, undefined> {
  return coalesce(tableParts(cfg, adds));
}

function* tableParts(cfg: TableConfig, adds: readonly ElementAdd[]): Generator<Part, void, undefined> {
  yield [`add table ${TABLE}\ndelete table ${TABLE}\n${renderTableDefinition(cfg)}`, false];
  yield* setCommands('add', adds, elementText);
}

/** `renderTableChunks` as one string. */
export function renderTable(cfg: TableConfig, adds: readonly ElementAdd[]): string {
  return [...renderTableChunks(cfg, adds)].join('');
}

/** What an incremental batch changes: new layers, deletes, adds. */
export interface BatchChanges {
  readonly layers: readonly LayerAdd[];
  readonly deletes: readonly ElementDelete[];
  readonly adds: readonly ElementAdd[];
}

/** Whether rendering `batch` yields nothing (nft need not run). */
export function isEmptyBatch(batch: BatchChanges): boolean {
  return batch.layers.length === 0 && batch.deletes.length === 0 && batch.adds.length === 0;
}

/**
 * An incremental batch: new layers first (their sets must exist before elements go in), then deletes
 * (so a slot freed in this batch can be reused by an add in the same batch), then adds.
 */
export function renderBatchChunks(cfg: TableConfig, batch: BatchChanges): Generator<string, void, undefined> {
  return coalesce(batchParts(cfg, batch));
}

function* batchParts(cfg: TableConfig, batch: BatchChanges): Generator<Part, void, undefined> {
  for (const l of batch.layers) yield [renderLayerAdd(cfg, l), false];
  yield* deleteCommands(batch.deletes);
  yield* setCommands('add', batch.adds, elementText);
}

/** `renderBatchChunks` as one string ('' for an empty batch). */
export function renderBatch(cfg: TableConfig, batch: BatchChanges): string {
  return [...renderBatchChunks(cfg, batch)].join('');
}
