/**
 * A CRL that passes its nextUpdate while the server runs: TLS then refuses every client of its CA,
 * so the server says so at that moment (an error in the log), warns ahead of it, and exports the
 * time left as pinhole_tls_crl_expiry_seconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { initDevPki } from '../../server/identity/pki.js';
import { createCrl } from '../../server/identity/crl.js';
import { TlsRuntime } from '../../server/identity/tls-runtime.js';
import { createRootLogger } from '../../server/log.js';
import { removeDir, startTestServer, tempDir } from '../helpers/pinhole.js';

/** Polls `check` until it returns true; gives up after 30 s (a bound on a hang, not a timing claim). */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/**
 * A dev PKI whose crl.pem (no entries) passes its nextUpdate at `nextUpdate()`, asked after the
 * (slow) key generation.
 */
async function pkiWithCrlUntil(nextUpdate: () => Date): Promise<{ dir: string; nextUpdate: Date }> {
  const dir = tempDir('pinhole-crl-expiry-');
  cleanup.push(() => {
    removeDir(dir);
  });
  initDevPki({ dir });
  const at = nextUpdate();
  const pem = await createCrl({
    ca: {
      certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
    },
    entries: [],
    thisUpdate: new Date(Date.now() - 60_000),
    nextUpdate: at,
  });
  writeFileSync(join(dir, 'crl.pem'), pem);
  return { dir, nextUpdate: at };
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
}

describe('a CRL passing its nextUpdate while running', () => {
  it('warns ahead and logs an error naming the CA at that moment', async () => {
    // Whole seconds: CRL times have one-second resolution.
    const { dir, nextUpdate } = await pkiWithCrlUntil(
      () => new Date(Math.ceil((Date.now() + 4000) / 1000) * 1000),
    );
    const lines: LogLine[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as LogLine);
        done();
      },
    });
    const runtime = await TlsRuntime.open(
      {
        ca: join(dir, 'ca.crt'),
        cert: join(dir, 'server.crt'),
        key: join(dir, 'server.key'),
        crl: { path: join(dir, 'crl.pem'), optional: false },
      },
      createRootLogger('info', sink),
    );
    cleanup.push(() => runtime.close());
    const crlFile = join(dir, 'crl.pem');
    const at = nextUpdate.toISOString();

    // Under the warning lead already: the warning comes at once.
    await until('the warning', () => lines.some((l) => l.level === 40));
    expect(lines.find((l) => l.level === 40)?.msg).toMatch(
      new RegExp(
        `^${crlFile}: the CRL of "CN=Pinhole CA .*" expires at ${at}, in 1 min; write a new one \\(pinhole certs crl\\)`,
      ),
    );
    expect(lines.some((l) => l.level === 50)).toBe(false);

    await until('the error at nextUpdate', () => lines.some((l) => l.level === 50));
    expect(Date.now()).toBeGreaterThanOrEqual(nextUpdate.getTime());
    expect(lines.find((l) => l.level === 50)?.msg).toMatch(
      new RegExp(
        `^${crlFile}: the CRL of "CN=Pinhole CA .*" expired at ${at}; every client of that CA is refused until a new CRL is written \\(pinhole certs crl\\)$`,
      ),
    );
  });

  it('exports the seconds left per CA', async () => {
    const { dir } = await pkiWithCrlUntil(() => new Date(Date.now() + 3_600_000));
    const ts = await startTestServer({ certs: { dir, autoInit: false, watch: false } }, { certDir: dir });
    cleanup.push(async () => {
      await ts.close();
      removeDir(ts.dataDir);
    });
    const { body } = await ts.server.ops.metrics.scrape();
    const m = /^pinhole_tls_crl_expiry_seconds\{ca="CN=Pinhole CA [^"]*"\} (\S+)$/m.exec(body);
    const seconds = Number(m?.[1]);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(3600);
  });
});
