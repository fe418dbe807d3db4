/**
 * Talking to `nft`: one process per batch (`nft -f -`, script on stdin) and JSON listings parsed into
 * plain data. A long-running `nft -i` re-reads whole sets per command (DESIGN.md §6), so we spawn instead.
 *
 * Listing costs measured with a 50k-element set (nftables 1.0.6): `nft -t -j list ruleset` ~6 ms (terse:
 * no set elements), `nft -t list chain ...` and `nft list tables` ~400 ms (they fetch the elements anyway),
 * `nft -j list table inet pinhole` ~1.4 s. The terse ruleset is therefore the cheap structure probe. JSON
 * `metainfo` carries only version, release name and schema version: no ruleset generation number.
 *
 * Every listing is numeric (`-n`): without it nft looks each element's protocol up in /etc/protocols
 * (getprotobynumber parses the file per element), which made a 10k-element listing ~25% slower. The text
 * format is no cheaper: nft flushes stdout after every token, ~16 write(2) calls per element. Numeric
 * output differs only in protocols (6, not tcp) and ct states (2, not established), and every listing
 * compared uses the same flags, so signatures stay comparable.
 *
 * The listing is what a reconcile cannot avoid, and it is nft's own cost: `nft -n -s -j list table`
 * takes about 1.5x the CPU of the `nft -f` that added the elements (perf stat, 10k: 220 vs 148 ms; 50k:
 * 1189 vs 761 ms; 1.4-1.8x in wall time), about 40% of it the kernel dump and nft's decoding of it
 * (`-t` still fetches every element and prints none: 89 ms at 10k), the rest building and printing the
 * JSON. Reading it through our pipe costs nothing measurable over nft writing to /dev/null, and no more
 * than nft writing to a tmpfs file read afterwards (tried: the same within noise), so the pipe stays.
 */
import { EnforcerError } from './errors.js';
import { isRecord, keyTextFromJson, type Family } from './nft-keys.js';
import { TABLE_FAMILY, TABLE_NAME } from './nft-ruleset.js';
import { excerpt, NftTransaction } from './nft-transaction.js';
import { runProcess } from './run-process.js';

/** One element of a listed set. */
export interface NftElement {
  /** The set it is in. */
  readonly set: string;
  /** Canonical key text (see nft-keys.ts), or undefined for a shape we cannot express. */
  readonly keyText: string | undefined;
  readonly comment: string | undefined;
  readonly timeoutS: number | undefined;
  /** Seconds left, truncated by nft. */
  readonly expiresS: number | undefined;
  readonly packets: number;
  readonly bytes: number;
}

/** A listed set; `signature` is its declaration (no elements, no handle) for tamper comparison. */
export interface NftSet {
  readonly family: string;
  readonly table: string;
  readonly name: string;
  readonly keyFamily: Family | undefined;
  readonly elements: readonly NftElement[];
  readonly signature: string;
}

/** A listed chain; `hook`/`policy` only for base chains. */
export interface NftChain {
  readonly family: string;
  readonly table: string;
  readonly name: string;
  readonly hook: string | undefined;
  readonly policy: string | undefined;
  readonly signature: string;
}

/** A listed rule: `signature` is its expression list as JSON; `verdicts` the verdicts it can issue. */
export interface NftRule {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly signature: string;
  readonly verdicts: readonly string[];
}

/** The objects of one `nft -j list ...` answer. */
export interface NftListing {
  readonly tables: readonly { readonly family: string; readonly name: string }[];
  readonly sets: readonly NftSet[];
  readonly chains: readonly NftChain[];
  readonly rules: readonly NftRule[];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The object without `drop` keys, serialised with sorted keys so equal declarations compare equal. */
function signatureOf(obj: Record<string, unknown>, drop: readonly string[]): string {
  const keys = Object.keys(obj)
    .filter((k) => !drop.includes(k))
    .sort();
  return JSON.stringify(keys.map((k) => [k, obj[k]]));
}

function collectVerdicts(v: unknown, out: Set<string>): void {
  if (Array.isArray(v)) for (const x of v) collectVerdicts(x, out);
  else if (isRecord(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'accept' || k === 'drop' || k === 'reject' || k === 'jump' || k === 'goto') out.add(k);
      collectVerdicts(x, out);
    }
  }
}

function parseElement(set: string, family: Family | undefined, raw: unknown): NftElement {
  // Elements with attributes (ours always have a counter) come wrapped as {elem: {val, ...}}.
  const wrapped = isRecord(raw) && isRecord(raw.elem) ? raw.elem : undefined;
  const val = wrapped === undefined ? raw : wrapped.val;
  const concat = isRecord(val) ? val.concat : undefined;
  const counter = wrapped !== undefined && isRecord(wrapped.counter) ? wrapped.counter : undefined;
  return {
    set,
    keyText: family === undefined ? undefined : keyTextFromJson(family, concat),
    comment: str(wrapped?.comment),
    timeoutS: num(wrapped?.timeout),
    expiresS: num(wrapped?.expires),
    packets: num(counter?.packets) ?? 0,
    bytes: num(counter?.bytes) ?? 0,
  };
}

/** Parses the JSON printed by `nft -j list ...`. Throws LIST_FAILED on malformed output. */
export function parseNftJson(text: string): NftListing {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new EnforcerError('LIST_FAILED', `nft -j printed invalid JSON (${text.slice(0, 80)}...)`, {
      cause: e,
    });
  }
  if (!isRecord(doc) || !Array.isArray(doc.nftables))
    throw new EnforcerError('LIST_FAILED', 'nft -j output has no "nftables" array');
  const listing = {
    tables: [] as NftListing['tables'][number][],
    sets: [] as NftSet[],
    chains: [] as NftChain[],
    rules: [] as NftRule[],
  };
  for (const item of doc.nftables as unknown[]) {
    if (!isRecord(item)) continue;
    if (isRecord(item.table)) {
      listing.tables.push({ family: str(item.table.family) ?? '', name: str(item.table.name) ?? '' });
    } else if (isRecord(item.set)) {
      const s = item.set;
      const type: unknown = Array.isArray(s.type) ? s.type[0] : s.type;
      const keyFamily = type === 'ipv4_addr' ? 4 : type === 'ipv6_addr' ? 6 : undefined;
      const elems: unknown[] = Array.isArray(s.elem) ? (s.elem as unknown[]) : [];
      const name = str(s.name) ?? '';
      listing.sets.push({
        family: str(s.family) ?? '',
        table: str(s.table) ?? '',
        name,
        keyFamily,
        elements: elems.map((e) => parseElement(name, keyFamily, e)),
        signature: signatureOf(s, ['handle', 'elem']),
      });
    } else if (isRecord(item.chain)) {
      const c = item.chain;
      listing.chains.push({
        family: str(c.family) ?? '',
        table: str(c.table) ?? '',
        name: str(c.name) ?? '',
        hook: str(c.hook),
        policy: str(c.policy),
        signature: signatureOf(c, ['handle']),
      });
    } else if (isRecord(item.rule)) {
      const r = item.rule;
      const verdicts = new Set<string>();
      collectVerdicts(r.expr, verdicts);
      listing.rules.push({
        family: str(r.family) ?? '',
        table: str(r.table) ?? '',
        chain: str(r.chain) ?? '',
        signature: JSON.stringify([r.expr, r.comment ?? null]),
        verdicts: [...verdicts],
      });
    }
  }
  return listing;
}

/** The declarations of the Pinhole table, as compared for tamper detection. */
export interface TableStructure {
  readonly sets: ReadonlyMap<string, string>;
  readonly chains: ReadonlyMap<string, string>;
  readonly rules: ReadonlyMap<string, readonly string[]>;
}

/** Extracts the Pinhole table's structure from a listing, or undefined when the table is absent. */
export function tableStructure(listing: NftListing): TableStructure | undefined {
  const ours = (o: { family: string; table: string }): boolean =>
    o.family === TABLE_FAMILY && o.table === TABLE_NAME;
  if (!listing.tables.some((t) => t.family === TABLE_FAMILY && t.name === TABLE_NAME)) return undefined;
  const rules = new Map<string, string[]>();
  for (const r of listing.rules.filter(ours)) {
    const list = rules.get(r.chain);
    if (list === undefined) rules.set(r.chain, [r.signature]);
    else list.push(r.signature);
  }
  return {
    sets: new Map(listing.sets.filter(ours).map((s) => [s.name, s.signature])),
    chains: new Map(listing.chains.filter(ours).map((c) => [c.name, c.signature])),
    rules,
  };
}

/** Differences of `actual` from `expected`, one line each; empty when they are the same. */
export function compareStructure(expected: TableStructure, actual: TableStructure | undefined): string[] {
  if (actual === undefined) return [`table ${TABLE_FAMILY} ${TABLE_NAME} is missing`];
  const events: string[] = [];
  for (const kind of ['sets', 'chains'] as const) {
    const what = kind === 'sets' ? 'set' : 'chain';
    for (const [name, sig] of expected[kind]) {
      const got = actual[kind].get(name);
      if (got === undefined) events.push(`${what} ${name} is missing`);
      else if (got !== sig) events.push(`${what} ${name} was changed`);
    }
    for (const name of actual[kind].keys())
      if (!expected[kind].has(name)) events.push(`unexpected ${what} ${name}`);
  }
  for (const [chain, sigs] of expected.rules) {
    const got = actual.rules.get(chain) ?? [];
    if (got.length !== sigs.length)
      events.push(`chain ${chain} has ${got.length} rules, expected ${sigs.length}`);
    else if (got.some((s, i) => s !== sigs[i])) events.push(`chain ${chain} rules were changed`);
  }
  for (const chain of actual.rules.keys())
    if (!expected.rules.has(chain)) events.push(`unexpected rules in chain ${chain}`);
  return events;
}

/** Runs nft through a command prefix (e.g. `['ip', 'netns', 'exec', 'ns1', 'nft']`). */
export class NftExec {
  readonly #command: readonly string[];
  readonly #timeoutMs: number;

  /** `command` is the argv prefix that runs nft; `timeoutMs` bounds every invocation. */
  constructor(command: readonly string[], timeoutMs = 30_000) {
    if (command.length === 0)
      throw new EnforcerError('INVALID_CONFIG', 'nftCommand: empty; use e.g. ["nft"]');
    this.#command = command;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Starts `nft -f -` for one transaction, to be written while it is rendered (see nft-transaction.ts):
   * nothing is applied unless `commit()` ends the script and nft accepts all of it.
   */
  begin(): NftTransaction {
    return new NftTransaction(this.#command, this.#timeoutMs);
  }

  /** Loads `script` (whole, or in chunks) as ONE transaction: all of it or, on any error, none of it. */
  async apply(script: string | Iterable<string>): Promise<void> {
    const tx = this.begin();
    try {
      if (typeof script === 'string') await tx.write(script);
      else await tx.writeAll(script);
      await tx.commit();
    } finally {
      await tx.abort();
    }
  }

  async #list(
    args: readonly string[],
  ): Promise<{ ok: true; listing: NftListing } | { ok: false; stderr: string }> {
    const argv = [...this.#command, ...args];
    let result;
    try {
      result = await runProcess(argv, { timeoutMs: this.#timeoutMs });
    } catch (e) {
      throw new EnforcerError('LIST_FAILED', `could not run ${argv.join(' ')}: ${String(e)}`, { cause: e });
    }
    if (result.code !== 0) return { ok: false, stderr: result.stderr };
    return { ok: true, listing: parseNftJson(result.stdout) };
  }

  /**
   * `nft -n -j list table inet pinhole`, with elements; undefined when the table does not exist.
   * Stateless (`-s`: element counters read as 0, about 12% cheaper at 10k elements) unless
   * `counters` asks for them: keys, timeouts, expiries, comments and the structure are the same.
   */
  async listTable(options: { readonly counters?: boolean } = {}): Promise<NftListing | undefined> {
    const r = await this.#list([
      '-n',
      ...(options.counters === true ? [] : ['-s']),
      '-j',
      'list',
      'table',
      TABLE_FAMILY,
      TABLE_NAME,
    ]);
    if (r.ok) return r.listing;
    if (/No such file or directory/.test(r.stderr)) return undefined;
    throw new EnforcerError(
      'LIST_FAILED',
      `nft -j list table ${TABLE_FAMILY} ${TABLE_NAME} failed:\n${excerpt(r.stderr)}`,
    );
  }

  /** `nft -n -t -j list ruleset`: every table, set declaration, chain and rule, but no set elements. Cheap. */
  async listRulesetTerse(): Promise<NftListing> {
    const r = await this.#list(['-n', '-t', '-j', 'list', 'ruleset']);
    if (r.ok) return r.listing;
    throw new EnforcerError('LIST_FAILED', `nft -n -t -j list ruleset failed:\n${excerpt(r.stderr)}`);
  }
}
