/** startStreamedProcess: a child fed while its input is produced, with backpressure and a safe abort. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
