/**
 * Issue 10, crash consistency (`npm run test:chaos`, its own vitest config; `npm test` leaves it out): a bounded
 * Open/Renew/Release load against a `pinhole serve` process that is SIGKILLed at random moments
 * (fixed seed) and at each failpoint. After every death, `pinhole audit verify` must pass; after
 * every restart the server must agree with what the clients were told (crash-model.ts).
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readClientTls, watchClient } from '../../client-sdk/wire.js';
import {
  hostClient,
  REPO,
  removeDir,
  sharedPki,
  spawnServer,
  tempDir,
  type ServerProcess,
} from '../helpers/pinhole.js';
import type { FailpointName } from '../../server/failpoints.js';
import { verifyAuditFile } from '../../server/cli/audit.js';
import { CrashModel, type HostName } from './crash-model.js';
import { seededRandom, sleep } from './fixtures.js';

const SEED = 0x5eed10;
const RANDOM_KILLS = 22;
const WORKERS = 4;
const FAILPOINTS: readonly FailpointName[] = [
  'before-commit',
  'after-commit',
  'after-commit-before-reply',
  'mid-snapshot',
];
const CONFIG = {
  log: { level: 'warn' },
  limits: { requestsPerSecond: 1_000_000, burst: 1_000_000, maxLiveLeasesPerHost: 1_000_000 },
  leases: { sweepIntervalMs: 1000 },
};

function auditVerify(dataDir: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO, 'server', 'cli', 'pinhole.ts'),
        'audit',
        'verify',
        '--data-dir',
        dataDir,
        '--quiet',
      ],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      resolve({ code, out: out.trim() });
    });
  });
}

async function start(dataDir: string, certDir: string, failpoints?: string): Promise<ServerProcess> {
  // spawnServer spawns synchronously before its first await, so the variable reaches only this child.
  if (failpoints !== undefined) process.env.PINHOLE_FAILPOINTS = failpoints;
  const pending = spawnServer({ dataDir, certDir, config: CONFIG });
  delete process.env.PINHOLE_FAILPOINTS;
  return pending;
}

/** Runs the load until `until` resolves; returns when every worker has stopped. */
async function load(
  model: CrashModel,
  server: ServerProcess,
  certDir: string,
  until: Promise<unknown>,
): Promise<void> {
  const clients: Record<HostName, ReturnType<typeof hostClient>> = {
    'web-1': hostClient(server.address, certDir, 'web-1'),
    'db-1': hostClient(server.address, certDir, 'db-1'),
  };
  let stop = false;
  void until.then(() => {
    stop = true;
  });
  const worker = async (): Promise<void> => {
    while (!stop) await model.step(clients);
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  clients['web-1'].close();
  clients['db-1'].close();
}

/** Opens lease streams from revision 0 (snapshots) until the server dies. */
function snapshots(server: ServerProcess, certDir: string, died: Promise<unknown>): void {
  const client = watchClient(server.address, readClientTls(certDir, 'firewall-gw-1'));
  let stop = false;
  void died.then(() => {
    stop = true;
    client.close();
  });
  const once = (): void => {
    if (stop) return;
    const stream = client.Watch({ fromRevision: '0', scope: { hosts: [], groups: [] } });
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    setTimeout(() => {
      stream.cancel();
      once();
    }, 150).unref();
  };
  once();
}

function exited(server: ServerProcess): Promise<NodeJS.Signals | null> {
  const child = server.child;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) =>
    child.once('exit', (_code, signal) => {
      resolve(signal);
    }),
  );
}

describe('crash consistency under SIGKILL', () => {
  it('survives random kills and a kill at every failpoint', async () => {
    const random = seededRandom(SEED);
    const model = new CrashModel(random);
    const certDir = sharedPki();
    const dataDir = tempDir();
    const deadline = Date.now() + 270_000;
    let kills = 0;
    let cliVerifies = 0;
    const problems: string[] = [];
    /**
     * After a death: the audit chain verifies offline. Every 4th death (and the last) runs the
     * `pinhole audit verify` CLI; the others call the function it runs, in process (saves a
     * process start each, keeping the suite inside its time bound).
     */
    let deaths = 0;
    const verifyDead = async (label: string): Promise<void> => {
      if (deaths++ % 4 === 0 || label === 'final') {
        const verify = await auditVerify(dataDir);
        if (verify.code !== 0 || !verify.out.startsWith('ok: '))
          problems.push(`${label}: pinhole audit verify failed: ${verify.out}`);
        cliVerifies++;
      } else {
        const result = await verifyAuditFile(join(dataDir, 'pinhole.db'));
        if (!result.ok)
          problems.push(`${label}: audit chain broken at ${result.firstBadSeq}: ${result.problem}`);
      }
    };
    /** After a restart, before new load: the server agrees with the model; new revisions go up. */
    const checkRestarted = async (server: ServerProcess, label: string): Promise<void> => {
      problems.push(...(await model.check(server.address, certDir)).map((p) => `${label}: ${p}`));
      const clients = {
        'web-1': hostClient(server.address, certDir, 'web-1'),
        'db-1': hostClient(server.address, certDir, 'db-1'),
      };
      const revisionProblem = await model.probeRevision(clients);
      if (revisionProblem !== undefined) problems.push(`${label}: ${revisionProblem}`);
      clients['web-1'].close();
      clients['db-1'].close();
    };
    let last = 'start';
    try {
      for (let i = 0; i < RANDOM_KILLS && Date.now() < deadline; i++) {
        const server = await start(dataDir, certDir);
        if (i > 0) await checkRestarted(server, `after ${last}`);
        const delayMs = 150 + Math.floor(random() * 650);
        const killed = sleep(delayMs).then(() => server.kill('SIGKILL'));
        await load(model, server, certDir, killed);
        await killed;
        kills++;
        last = `random kill ${i + 1} after ${delayMs} ms`;
        await verifyDead(last);
      }
      const lostBefore = model.counts.answerLostRecovered;
      for (const name of FAILPOINTS) {
        const hit = 3 + Math.floor(random() * 10);
        // The check of the previous death runs on a server without failpoints.
        const checker = await start(dataDir, certDir);
        const lostBeforeCheck = model.counts.answerLostRecovered;
        await checkRestarted(checker, `after ${last}`);
        if (
          last.startsWith('failpoint after-commit-before-reply') &&
          model.counts.answerLostRecovered === lostBeforeCheck
        ) {
          problems.push(
            'after-commit-before-reply: no committed-but-unanswered Open was found after the restart',
          );
        }
        await checker.kill('SIGKILL');
        const server = await start(dataDir, certDir, `${name}=exit@${hit}`);
        const died = exited(server);
        const timeout = sleep(20_000).then(() => 'timeout' as const);
        if (name === 'mid-snapshot') snapshots(server, certDir, died);
        await load(model, server, certDir, Promise.race([died, timeout]));
        const signal = await Promise.race([died, timeout]);
        if (signal !== 'SIGKILL') {
          problems.push(`failpoint ${name}@${hit}: the server did not kill itself (${String(signal)})`);
          await server.kill('SIGKILL');
        } else {
          kills++;
        }
        last = `failpoint ${name}@${hit}`;
        await verifyDead(last);
      }
      const final = await start(dataDir, certDir);
      await checkRestarted(final, `after ${last}`);
      await final.kill('SIGKILL');
      await verifyDead('final');
      console.log(
        `[chaos] seed ${SEED}: kills survived ${kills} (${RANDOM_KILLS} random + ${FAILPOINTS.length} failpoints); requests sent ${model.counts.sent}, ` +
          `acknowledged ${model.counts.acknowledged}; committed-but-unanswered Opens recovered by retry ${model.counts.answerLostRecovered} ` +
          `(${model.counts.answerLostRecovered - lostBefore} after failpoints); leases ${model.leases.size}; max revision ${model.maxRevisionSeen}; ` +
          `audit verified after every death (${cliVerifies} times by the CLI)`,
      );
      expect(problems).toEqual([]);
      expect(kills).toBeGreaterThanOrEqual(RANDOM_KILLS + FAILPOINTS.length);
      expect(model.counts.acknowledged).toBeGreaterThan(100);
    } finally {
      removeDir(dataDir);
    }
  }, 300_000);
});
