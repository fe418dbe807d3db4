/**
 * The TLS file watcher sees certificates replaced the way deployments replace them: a Kubernetes
 * secret volume swaps its `..data` symlink (no event names a watched file), and certbot-style
 * `live/` symlinks whose targets in another directory are rewritten. Each must reload the material.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initDevPki, issueCertificate, readTrustDomain, type PemPair } from '../../server/identity/pki.js';
import { TlsRuntime } from '../../server/identity/tls-runtime.js';
import { createRootLogger } from '../../server/log.js';
import { removeDir, tempDir } from '../helpers/pinhole.js';

const FILES = ['ca.crt', 'server.crt', 'server.key'] as const;

/** Polls `check` until it returns true; gives up after 30 s (a bound on a hang, not a timing claim). */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A dev PKI, and a fresh server certificate from its CA. */
function pkiWithNewServerCert(): { pki: string; next: PemPair } {
  const pki = tempDir('pinhole-watch-pki-');
  initDevPki({ dir: pki });
  const ca = {
    certPem: readFileSync(join(pki, 'ca.crt'), 'utf8'),
    keyPem: readFileSync(join(pki, 'ca.key'), 'utf8'),
  };
  const next = issueCertificate({
    ca,
    trustDomain: readTrustDomain(pki),
    role: 'server',
    name: 'pinhole-server',
    ips: ['127.0.0.1'],
  });
  return { pki, next };
}

function writeSet(dir: string, pki: string, server?: PemPair): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ca.crt'), readFileSync(join(pki, 'ca.crt')));
  writeFileSync(join(dir, 'server.crt'), server?.certPem ?? readFileSync(join(pki, 'server.crt')));
  writeFileSync(join(dir, 'server.key'), server?.keyPem ?? readFileSync(join(pki, 'server.key')));
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function watched(dir: string): Promise<TlsRuntime> {
  const runtime = await TlsRuntime.open(
    { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') },
    createRootLogger('silent'),
  );
  cleanup.push(() => runtime.close());
  runtime.watchFiles(() => void runtime.reload());
  return runtime;
}

describe('watching TLS files', () => {
  it('reloads when a Kubernetes secret volume swaps its ..data symlink', async () => {
    const { pki, next } = pkiWithNewServerCert();
    const mount = tempDir('pinhole-watch-k8s-');
    cleanup.push(() => {
      removeDir(pki);
      removeDir(mount);
    });
    // The kubelet's layout: files link to ..data/<file>, ..data links to a timestamped directory.
    writeSet(join(mount, '..2024_01_01_00_00_00.1'), pki);
    symlinkSync('..2024_01_01_00_00_00.1', join(mount, '..data'));
    for (const f of FILES) symlinkSync(join('..data', f), join(mount, f));
    const runtime = await watched(mount);
    const before = runtime.current.serverFingerprint;

    // The kubelet's update: a new directory, ..data_tmp pointing at it, renamed over ..data.
    writeSet(join(mount, '..2024_01_02_00_00_00.2'), pki, next);
    symlinkSync('..2024_01_02_00_00_00.2', join(mount, '..data_tmp'));
    renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
    rmSync(join(mount, '..2024_01_01_00_00_00.1'), { recursive: true });

    await until('the new server certificate', () => runtime.current.serverFingerprint !== before);
    expect(runtime.current.certPem.toString()).toBe(next.certPem);
  });

  it('reloads when the target of a symlinked certificate changes in another directory', async () => {
    const { pki, next } = pkiWithNewServerCert();
    const root = tempDir('pinhole-watch-certbot-');
    cleanup.push(() => {
      removeDir(pki);
      removeDir(root);
    });
    // certbot-like: live/ holds links into archive/.
    const archive = join(root, 'archive');
    const live = join(root, 'live');
    writeSet(archive, pki);
    mkdirSync(live);
    for (const f of FILES) symlinkSync(join('..', 'archive', f), join(live, f));
    const runtime = await watched(live);
    const before = runtime.current.serverFingerprint;

    // Replaced by rename in archive/: nothing happens in live/.
    for (const [file, pem] of [
      ['server.key', next.keyPem],
      ['server.crt', next.certPem],
    ] as const) {
      writeFileSync(join(archive, `${file}.new`), pem);
      renameSync(join(archive, `${file}.new`), join(archive, file));
    }

    await until('the new server certificate', () => runtime.current.serverFingerprint !== before);
    expect(runtime.current.certPem.toString()).toBe(next.certPem);
  });
});
