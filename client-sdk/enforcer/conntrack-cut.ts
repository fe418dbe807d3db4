/**
 * Cutting established connections of a removed opening. `ct state established accept` lets a connection
 * outlive the set element that admitted it; deleting its conntrack entry makes its next packet "new",
 * which the chain then drops. (A packet the *protected* side sends first can re-create the entry through
 * loose TCP pickup, `nf_conntrack_tcp_loose=1`; for client-speaks-first protocols the cut holds.)
 */
import {
  addressValue,
  formatAddress,
  keyMatchesFlow,
  maskText,
  ruleToKey,
  type ElementKey,
} from './nft-keys.js';
import { runProcess } from './run-process.js';
import type { Protocol } from './types.js';

/** One conntrack entry's original-direction tuple. */
export interface Flow {
  readonly protocol: Protocol;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

/** Parses `conntrack -L` output: the first src/dst/sport/dport of a line are the original direction. */
export function parseConntrackList(text: string): Flow[] {
  const flows: Flow[] = [];
  for (const line of text.split('\n')) {
    const proto = /^\s*(tcp|udp|sctp)\s/.exec(line)?.[1];
    const src = /\bsrc=(\S+)/.exec(line)?.[1];
    const dst = /\bdst=(\S+)/.exec(line)?.[1];
    const sport = /\bsport=(\d+)/.exec(line)?.[1];
    const dport = /\bdport=(\d+)/.exec(line)?.[1];
    if (
      proto === undefined ||
      src === undefined ||
      dst === undefined ||
      sport === undefined ||
      dport === undefined
    )
      continue;
    flows.push({ protocol: proto as Protocol, src, dst, sport: Number(sport), dport: Number(dport) });
  }
  return flows;
}

/** What `cutFlows` needs. */
export interface CutOptions {
  /** Argv prefix that runs conntrack, e.g. `['conntrack']`. */
  readonly command: readonly string[];
  /** Keys whose openings were removed. */
  readonly removed: readonly ElementKey[];
  /** Whether some opening that is still in place covers `key` (a flow or a whole removed key). */
  readonly stillAllowed: (key: ElementKey) => boolean;
  readonly log: (msg: string) => void;
}

/** conntrack exits 1 with "0 flow entries have been deleted" when nothing matched: not an error here. */
function deleteOk(code: number | null, stderr: string): boolean {
  return code === 0 || (code === 1 && /0 flow entries/.test(stderr));
}

/**
 * Deletes the conntrack entries of `removed` openings that no remaining opening allows. A single port
 * with nothing else overlapping is one `conntrack -D` with a source mask; otherwise (port ranges, or an
 * overlapping lease that must keep its connections) the entries are listed and deleted one by one.
 * Returns the number of entries deleted. Failures are logged, never thrown: the nft change already holds.
 */
export async function cutFlows(opts: CutOptions): Promise<number> {
  let deleted = 0;
  const fam = (k: ElementKey): string => (k.family === 4 ? 'ipv4' : 'ipv6');
  const run = async (
    args: string[],
  ): Promise<{ code: number | null; stdout: string; stderr: string } | undefined> => {
    try {
      return await runProcess([...opts.command, ...args], { timeoutMs: 10_000 });
    } catch (e) {
      opts.log(`conntrack: could not run ${[...opts.command, ...args].join(' ')}: ${String(e)}`);
      return undefined;
    }
  };
  for (const key of opts.removed) {
    const srcAddr = formatAddress(key.family, key.srcNet);
    const dst = formatAddress(key.family, key.dst);
    if (key.portFrom === key.portTo && !opts.stillAllowed(key)) {
      const r = await run([
        '-D',
        '-f',
        fam(key),
        '-p',
        key.protocol,
        '-s',
        srcAddr,
        '--mask-src',
        maskText(key.family, key.srcLen),
        '-d',
        dst,
        '--dport',
        String(key.portFrom),
      ]);
      if (r === undefined) continue;
      if (!deleteOk(r.code, r.stderr))
        opts.log(`conntrack -D for ${key.text} failed (exit ${r.code}): ${r.stderr.trim()}`);
      else deleted += Number(/(\d+) flow entries have been deleted/.exec(r.stderr)?.[1] ?? 0);
      continue;
    }
    const list = await run(['-L', '-f', fam(key), '-p', key.protocol, '-d', dst]);
    if (list === undefined) continue;
    if (list.code !== 0) {
      opts.log(`conntrack -L for ${key.text} failed (exit ${list.code}): ${list.stderr.trim()}`);
      continue;
    }
    for (const flow of parseConntrackList(list.stdout)) {
      const src = addressValue(flow.src);
      const d = addressValue(flow.dst);
      if (
        src === undefined ||
        d === undefined ||
        !keyMatchesFlow(key, src.value, flow.protocol, flow.dport, d.value)
      )
        continue;
      const point = ruleToKey(
        {
          protocol: flow.protocol,
          portFrom: flow.dport,
          portTo: flow.dport,
          sourceCidr: flow.src,
          destination: flow.dst,
        },
        'flow',
      );
      if (opts.stillAllowed(point)) continue;
      const r = await run([
        '-D',
        '-f',
        fam(key),
        '-p',
        flow.protocol,
        '-s',
        flow.src,
        '-d',
        flow.dst,
        '--sport',
        String(flow.sport),
        '--dport',
        String(flow.dport),
      ]);
      if (r !== undefined && deleteOk(r.code, r.stderr)) deleted += r.code === 0 ? 1 : 0;
      else if (r !== undefined)
        opts.log(
          `conntrack -D of ${flow.src}:${flow.sport} -> ${flow.dst}:${flow.dport} failed (exit ${r.code}): ${r.stderr.trim()}`,
        );
    }
  }
  return deleted;
}
