import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createRootLogger } from '../../server/log.js';

/** A root logger writing into an array of parsed lines. */
function capture(): { lines: Record<string, unknown>[]; log: ReturnType<typeof createRootLogger> } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: createRootLogger('info', sink) };
}

describe('log redaction', () => {
  it('censors keys, receipts and PEMs one level down and leaves everything else as given', () => {
    const { lines, log } = capture();
    const lease = { id: 'lse_1', receipt: 'eyJhbGciOi.payload.sig' };
    const tls = { certPem: 'CERT', keyPem: 'KEY', fingerprint: 'ab' };
    log.info({ lease, tls, signer: { key: 'k', privateKey: 'p' }, receipt: 'top-level', n: 1 }, 'line');
    expect(lines[0]).toMatchObject({
      msg: 'line',
      lease: { id: 'lse_1', receipt: '[redacted]' },
      tls: { certPem: '[redacted]', keyPem: '[redacted]', fingerprint: 'ab' },
      signer: { key: '[redacted]', privateKey: '[redacted]' },
      // As pino's `*.receipt` path: only one level down.
      receipt: 'top-level',
      n: 1,
    });
    expect(lease.receipt).toBe('eyJhbGciOi.payload.sig'); // the caller's object is not modified
    expect(tls.keyPem).toBe('KEY');
  });

  it('censors an error property and keeps the error message and stack', () => {
    const { lines, log } = capture();
    const err = Object.assign(new Error('signing failed'), { key: 'secret-key' });
    log.error({ err }, 'boom');
    const logged = lines[0]?.err as Record<string, unknown> | undefined;
    expect(logged).toMatchObject({ type: 'Error', message: 'signing failed', key: '[redacted]' });
    expect(String(logged?.stack)).toContain('signing failed');
    expect(JSON.stringify(lines[0])).not.toContain('secret-key');
  });

  it("censors a child's bindings", () => {
    const { lines, log } = capture();
    log.child({ module: 'lease', signer: { key: 'k' } }).info('bound');
    expect(lines[0]).toMatchObject({ module: 'lease', signer: { key: '[redacted]' }, msg: 'bound' });
  });

  it('censors a frozen object, or a non-configurable property, instead of throwing out of the log call', () => {
    const { lines, log } = capture();
    const lease = Object.freeze({ id: 'lse_1', receipt: 'eyJhbGciOi.payload.sig' });
    const signer = {};
    Object.defineProperty(signer, 'key', { get: () => 'secret-key', enumerable: true });
    expect(() => {
      log.info({ lease, signer }, 'frozen');
    }).not.toThrow();
    expect(lines[0]).toMatchObject({
      msg: 'frozen',
      lease: { id: 'lse_1', receipt: '[redacted]' },
      signer: { key: '[redacted]' },
    });
    expect(JSON.stringify(lines[0])).not.toContain('payload.sig');
    expect(JSON.stringify(lines[0])).not.toContain('secret-key');
    expect(() => {
      log.child({ tls: Object.freeze({ keyPem: 'KEY' }) }).info('bound');
    }).not.toThrow();
    expect(lines[1]).toMatchObject({ tls: { keyPem: '[redacted]' }, msg: 'bound' });
  });
});
