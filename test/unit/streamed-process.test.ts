/** startStreamedProcess: a child fed while its input is produced, with backpressure and a safe abort. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startStreamedProcess } from '../../client-sdk/enforcer/streamed-process.js';

const dir = mkdtempSync(join(tmpdir(), 'pinhole-streamed-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Counts stdin bytes, slowly: it pauses after every read so the pipe fills. */
const slowCounter = `
  let n = 0;
  process.stdin.on('data', (d) => { n += d.length; process.stdin.pause(); setTimeout(() => process.stdin.resume(), 1); });
  process.stdin.on('end', () => console.log(n));`;

describe('startStreamedProcess', () => {
  it('delivers every chunk, in order, and makes the producer wait when the child lags', async () => {
    const child = startStreamedProcess([process.execPath, '-e', slowCounter], { bufferBytes: 64 * 1024 });
    const chunk = 'x'.repeat(64 * 1024);
    let waits = 0;
    for (let i = 0; i < 64; i++) {
      if (!child.write(chunk)) {
        waits++;
        await child.drained();
      }
    }
    const result = await child.end();
    expect(result).toMatchObject({ code: 0, stdout: `${64 * chunk.length}\n` });
    expect(waits).toBeGreaterThan(0);
  });

  it('abort kills the child and ends its input with the last words, even behind a wrapper that outlives it', async () => {
    const file = join(dir, 'received');
    // sh waits for cat (no exec of the last command), so SIGKILL takes sh and cat reads on to the end.
    const child = startStreamedProcess(['sh', '-c', 'cat > "$0"; exit $?', file]);
    child.write('complete command\n');
    // The redirection exists once sh has forked its child: from then on, killing sh leaves cat running.
    while (!existsSync(file)) await new Promise((r) => setTimeout(r, 5));
    const result = await child.abort('ABORTED\n');
    expect(result.signal).toBe('SIGKILL');
    // `close` waits for the wrapper's child too: it held the output pipes.
    expect(readFileSync(file, 'utf8')).toBe('complete command\nABORTED\n');
  });

  it('reports a program that cannot start from end()', async () => {
    const child = startStreamedProcess(['/nonexistent/pinhole-no-such-program']);
    expect(child.write('ignored')).toBe(true);
    await expect(child.end()).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a child that exits without reading does not stall the producer', async () => {
    const child = startStreamedProcess(['true'], { bufferBytes: 1024 });
    const chunk = 'y'.repeat(256 * 1024);
    for (let i = 0; i < 16; i++) if (!child.write(chunk)) await child.drained();
    await expect(child.end()).resolves.toMatchObject({ code: 0 });
  });
});

describe('out of file descriptors', () => {
  it('reports EMFILE from end() and runProcess instead of crashing the agent', async () => {
    // Run where the descriptor limit is low and all but none are taken: spawning cannot make its pipes.
    const script = join(dir, 'emfile.mts');
    const repo = join(import.meta.dirname, '..', '..');
    writeFileSync(
      script,
      `import { openSync } from 'node:fs';
       import { startStreamedProcess } from ${JSON.stringify(join(repo, 'client-sdk/enforcer/streamed-process.ts'))};
       import { runProcess } from ${JSON.stringify(join(repo, 'client-sdk/enforcer/run-process.ts'))};
       process.on('uncaughtException', (e) => { console.log('uncaught ' + e.message); process.exit(3); });
       const fds = [];
       try { for (;;) fds.push(openSync('/dev/null', 'r')); } catch {}
       const p = startStreamedProcess(['true']);
       p.write('add table inet x\\n');
       const outcomes = await Promise.allSettled([p.end(), runProcess(['true'])]);
       console.log(JSON.stringify(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason.code) : 'ran'))));`,
    );
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(
        'bash',
        ['-c', `ulimit -n 48; exec "$0" --import tsx "$1"`, process.execPath, script],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', (code) => {
        resolve({ code, out });
      });
    });
    expect(result.out.trim()).toBe('["EMFILE","EMFILE"]');
    expect(result.code).toBe(0);
  });
});
