import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/** A random id with a type prefix, e.g. `lse_9q3k...`: 100 bits of randomness. */
export function newId(prefix: 'lse' | 'pnd' | 'req'): string {
  const bytes = randomBytes(20);
  let out = `${prefix}_`;
  for (const b of bytes) out += ALPHABET.charAt(b & 31);
  return out;
}
