/** `--jwks FILE` as both `pinhole receipt verify` and `pinhole audit verify` read it (server/cli/read-jwks.ts). */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJwks } from '../../server/cli/read-jwks.js';
import { removeDir, tempDir } from '../helpers/pinhole.js';

const dir = tempDir();
afterAll(() => {
  removeDir(dir);
});

describe('readJwks', () => {
  it('returns a key set and names --jwks and the file for anything else', () => {
    const good = join(dir, 'jwks.json');
    writeFileSync(good, JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AA' }] }));
    expect(readJwks(good).keys).toHaveLength(1);

    const notJson = join(dir, 'policy.yaml');
    writeFileSync(notJson, 'rules: []\n');
    expect(() => readJwks(notJson)).toThrow(
      new RegExp(
        `^--jwks: ${notJson} is not a readable JSON file \\([\\s\\S]*\\); give the server's receipt-jwks.json$`,
      ),
    );
    expect(() => readJwks(join(dir, 'missing.json'))).toThrow(
      /^--jwks: .*missing\.json is not a readable JSON file/,
    );

    const noKeys = join(dir, 'other.json');
    writeFileSync(noKeys, '{"alg":"EdDSA"}');
    expect(() => readJwks(noKeys)).toThrow(
      `--jwks: ${noKeys} is not a JWK set; expected {"keys": [...]} as in the server's receipt-jwks.json`,
    );
  });
});
