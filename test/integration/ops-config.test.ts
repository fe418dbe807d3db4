/**
 * Issue 11: one configuration file, validated with line-accurate errors. `pinhole config check`
 * prints every mistake as file:line:col: path: message and exits 1; environment overrides are named
 * by variable; `pinhole config reference` documents every option the schema has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadConfig, loadConfigLayers } from '../../server/config/load.js';
import { configOptions } from '../../server/config/options.js';
import { REPO, removeDir, tempDir, writeFileSync } from '../helpers/pinhole.js';
import { pinholeAsync } from './admin-fixtures.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('pinhole-config-');
});
afterAll(() => {
  removeDir(dir);
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const SEVERAL_MISTAKES = `# five mistakes, one per line
listen: 7443
admin:
  listen: "not-an-address"
store:
  kind: sqlite
  retainRevisons: 5000
watch:
  queueLimit: 5
log: { level: loud }
`;

describe('pinhole config check', () => {
  it('prints each mistake with file:line:col and exits 1', async () => {
    const path = file('several.yaml', SEVERAL_MISTAKES);
    const r = await pinholeAsync('config', 'check', path);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      `error: ${path}:2:9: listen: 7443 is not HOST:PORT, e.g. 127.0.0.1:7443`,
      `error: ${path}:4:11: admin.listen: "not-an-address" is not valid; use HOST:PORT, e.g. 127.0.0.1:7444`,
      `error: ${path}:7:3: store.retainRevisons: unknown key; did you mean retainRevisions? (known here: kind, path, thread, retainRevisions)`,
      `error: ${path}:9:15: watch.queueLimit: 5 is out of range; use a whole number 10-1000000`,
      `error: ${path}:10:15: log.level: "loud" is not accepted; use one of fatal, error, warn, info, debug, trace, silent`,
      `${path}: 5 error(s)`,
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with their position', async () => {
    const path = file(
      'syntax.yaml',
      'listen: 127.0.0.1:7443\nlisten: 127.0.0.1:7444\nwatch: { queueLimit: 10\n',
    );
    const r = await pinholeAsync('config', 'check', path);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`${path.replaceAll('/', '\\/')}:2:1: \\(document\\): YAML syntax: Map keys must be unique`),
    );
    expect(r.stdout).toMatch(
      new RegExp(`${path.replaceAll('/', '\\/')}:\\d+:\\d+: \\(document\\): YAML syntax: `),
    );
  });

  it('accepts a valid file (exit 0)', async () => {
    const path = file(
      'good.yaml',
      'listen: 127.0.0.1:7443\nstore: { kind: sqlite, retainRevisions: 5000 }\nshutdown: { graceMs: 20000 }\n',
    );
    const r = await pinholeAsync('config', 'check', path);
    expect(r.stdout.trim()).toBe(`${path}: ok`);
    expect(r.code).toBe(0);
  });
});

describe('layers', () => {
  it('names a bad environment override by its variable, alongside file errors', () => {
    const path = file('env.yaml', 'watch:\n  heartbeatSeconds: 0\n');
    const outcome = loadConfigLayers({
      file: path,
      env: { PINHOLE_WATCH_QUEUE_LIMIT: 'lots', PINHOLE_SHUTDOWN_GRACE_MS: '-5' },
    });
    expect(outcome.ok).toBe(false);
    const lines = outcome.ok ? [] : outcome.problems.map((p) => `${p.where}: ${p.path}: ${p.message}`);
    expect(lines).toEqual([
      `${path}:2:21: watch.heartbeatSeconds: 0 is out of range; use a whole number 1-3600`,
      'env PINHOLE_WATCH_QUEUE_LIMIT: watch.queueLimit: "lots" is not a whole number 10-1000000',
      'env PINHOLE_SHUTDOWN_GRACE_MS: shutdown.graceMs: -5 is out of range; use a whole number 0-600000',
    ]);
  });

  it('store.thread: main by default, worker on request; anything else names the accepted values', () => {
    expect(loadConfig({}).store).toMatchObject({ kind: 'sqlite', thread: 'main' });
    expect(
      loadConfig({ env: { PINHOLE_STORE_KIND: 'sqlite', PINHOLE_STORE_THREAD: 'worker' } }).store,
    ).toMatchObject({ thread: 'worker' });
    const path = file('thread.yaml', 'store:\n  kind: sqlite\n  thread: fast\n');
    const outcome = loadConfigLayers({ file: path });
    expect(outcome.ok ? [] : outcome.problems.map((p) => `${p.where}: ${p.path}: ${p.message}`)).toEqual([
      `${path}:3:11: store.thread: "fast" is not accepted; use one of worker, main`,
    ]);
  });

  it('applies defaults < file < environment < flags', () => {
    const path = file(
      'layers.yaml',
      'listen: 127.0.0.1:1111\nwatch: { queueLimit: 500 }\nlog: { level: warn }\n',
    );
    const config = loadConfig({
      file: path,
      env: {
        PINHOLE_WATCH_QUEUE_LIMIT: '600',
        PINHOLE_POLICY: '/etc/pinhole/policy.yaml',
        PINHOLE_LOG_LEVEL: 'error',
      },
      flags: { 'log.level': ['--log-level', 'debug'], listen: ['--listen', undefined] },
    });
    expect(config.listen).toBe('127.0.0.1:1111');
    expect(config.watch.queueLimit).toBe(600);
    expect(config.policy.file).toBe('/etc/pinhole/policy.yaml');
    expect(config.log.level).toBe('debug');
    expect(config.watch.heartbeatSeconds).toBe(10);
    expect(Object.isFrozen(config.watch)).toBe(true);
    expect(() => loadConfig({ flags: { listen: ['--listen', 'nope'] } })).toThrow(
      '--listen: listen: "nope" is not valid; use HOST:PORT',
    );
  });
});

describe('pinhole config reference', () => {
  it('documents every option of the schema with its variable and default', async () => {
    const r = await pinholeAsync('config', 'reference');
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n').slice(2);
    expect(rows).toHaveLength(configOptions().length);
    expect(rows).toContain(
      '| `shutdown.graceMs` | `PINHOLE_SHUTDOWN_GRACE_MS` | `10000` | On SIGTERM: how long requests in flight may take to finish before connections are cut, ms. Lease streams end at once with UNAVAILABLE. Accepts a whole number 0-600000. |',
    );
    for (const o of configOptions()) expect(o.description, o.path).not.toBe('');
  });
});

describe('docs/systemd', () => {
  it('ships a server.yaml that passes the check', async () => {
    const r = await pinholeAsync('config', 'check', join('docs', 'systemd', 'server.yaml'));
    expect(r.stdout.trim()).toBe('docs/systemd/server.yaml: ok');
    expect(r.code).toBe(0);
  });

  it('ships unit files systemd accepts', () => {
    const r = spawnSync(
      'systemd-analyze',
      ['verify', '--man=no', 'docs/systemd/pinhole-server.service', 'docs/systemd/pinhole-agent.service'],
      { cwd: REPO, encoding: 'utf8' },
    );
    if (r.error !== undefined) {
      expect((r.error as NodeJS.ErrnoException).code).toBe('ENOENT'); // no systemd here: nothing to verify with
      return;
    }
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });
});
