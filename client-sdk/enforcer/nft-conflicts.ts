/**
 * Other tables that would undo our accepts. Every base chain on a hook sees the packet, and an accept ends
 * processing only within its own chain: a drop in any other table's chain on the same hook still drops.
 * So a lease can be granted, applied, and not work; this finds the likely culprits.
 */
import type { NftListing } from './nft-exec.js';
import { TABLE_FAMILY, TABLE_NAME } from './nft-ruleset.js';

/** Warnings about ip/ip6/inet base chains on `hook`, outside our table, that drop (by policy or rule). */
export function findConflicts(listing: NftListing, hook: string): string[] {
  const warnings: string[] = [];
  for (const c of listing.chains) {
    if (c.family === TABLE_FAMILY && c.table === TABLE_NAME) continue;
    if (!['ip', 'ip6', 'inet'].includes(c.family) || c.hook !== hook) continue;
    const where = `${c.family} ${c.table} chain ${c.name} (hook ${hook})`;
    if (c.policy === 'drop')
      warnings.push(`${where} has policy drop: traffic Pinhole accepts is still dropped there`);
    const drops = listing.rules.filter(
      (r) =>
        r.family === c.family &&
        r.table === c.table &&
        r.chain === c.name &&
        r.verdicts.some((v) => v === 'drop' || v === 'reject'),
    );
    if (drops.length > 0)
      warnings.push(`${where} has ${drops.length} drop/reject rule(s) that may drop leased traffic`);
  }
  return warnings;
}
