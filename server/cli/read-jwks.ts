/**
 * `--jwks FILE`: the server's published receipt key set (data/receipt-jwks.json, or
 * GET /.well-known/jwks.json), read by `pinhole receipt verify` and `pinhole audit verify`.
 */
import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { invalid, PinholeError } from '../core/errors.js';

/** The key set in `path`; INVALID_ARGUMENT naming `--jwks` when it is unreadable, not JSON or has no "keys" array. */
export function readJwks(path: string): JSONWebKeySet {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new PinholeError(
      'INVALID_ARGUMENT',
      `--jwks: ${path} is not a readable JSON file (${cause instanceof Error ? cause.message : String(cause)}); give the server's receipt-jwks.json`,
      { cause, field: '--jwks' },
    );
  }
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) {
    throw invalid(
      '--jwks',
      `${path} is not a JWK set; expected {"keys": [...]} as in the server's receipt-jwks.json`,
    );
  }
  return value as JSONWebKeySet;
}
