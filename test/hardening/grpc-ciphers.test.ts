/**
 * The gRPC listener honours a cipher list (certs.grpcCipherSuites, or grpc-js's own
 * GRPC_SSL_CIPHER_SUITES) as grpc-js's createSsl would, and keeps it across a TLS reload (which
 * replaces the whole secure context).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { readClientTls } from '../../client-sdk/wire.js';
import { envOverrides } from '../../server/config/load.js';
import { initDevPki, issueIntoDir } from '../../server/identity/pki.js';
import { removeDir, startTestServer, tempDir, type TestServer } from '../helpers/pinhole.js';

const ALLOWED = 'ECDHE-RSA-AES128-GCM-SHA256';
const OTHER = 'ECDHE-RSA-AES256-GCM-SHA384';

/** One TLS 1.2 handshake offering only `cipher`: the cipher agreed, or the error. */
function handshake(ts: TestServer, cipher: string): Promise<string> {
  const [host, port] = [
    ts.address.slice(0, ts.address.lastIndexOf(':')),
    Number(ts.address.split(':').at(-1)),
  ];
  const tls = readClientTls(ts.certDir, 'host-web-1');
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port,
      ...tls,
      ALPNProtocols: ['h2'],
      maxVersion: 'TLSv1.2',
      ciphers: cipher,
    });
    socket.once('secureConnect', () => {
      const name = socket.getCipher().standardName;
      socket.destroy();
      resolve(name);
    });
    socket.once('error', (err) => {
      socket.destroy();
      resolve(`error: ${err.message}`);
    });
  });
}

describe('certs.grpcCipherSuites', () => {
  let dir: string;
  let ts: TestServer;
  beforeAll(async () => {
    dir = tempDir('pinhole-ciphers-pki-');
    initDevPki({ dir });
    ts = await startTestServer(
      { certs: { dir, grpcCipherSuites: ALLOWED, autoInit: false, watch: false } },
      { certDir: dir },
    );
  });
  afterAll(async () => {
    await ts.close();
    removeDir(ts.dataDir);
    removeDir(dir);
  });

  it('limits the gRPC listener to the list, before and after a TLS reload', async () => {
    expect(await handshake(ts, ALLOWED)).toBe('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    expect(await handshake(ts, OTHER)).toMatch(/^error: .*handshake failure/);
    // A reload hands grpc-js a new secure context: the list must come with it.
    // A new server certificate (dev PKI names: server.crt, server.key).
    issueIntoDir({ dir, role: 'server', name: 'pinhole-server', ips: ['127.0.0.1'], force: true });
    for (const ext of ['key', 'crt'])
      renameSync(join(dir, `server-pinhole-server.${ext}`), join(dir, `server.${ext}`));
    expect(await ts.server.reloadTls()).toMatchObject({ ok: true, changed: true });
    expect(await handshake(ts, OTHER)).toMatch(/^error: .*handshake failure/);
    expect(await handshake(ts, ALLOWED)).toBe('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
  });

  it('is read from GRPC_SSL_CIPHER_SUITES, the variable grpc-js reads, unless set by its own name', () => {
    expect(envOverrides({ GRPC_SSL_CIPHER_SUITES: ALLOWED })).toEqual({
      certs: { grpcCipherSuites: ALLOWED },
    });
    expect(
      envOverrides({ GRPC_SSL_CIPHER_SUITES: OTHER, PINHOLE_CERTS_GRPC_CIPHER_SUITES: ALLOWED }),
    ).toEqual({ certs: { grpcCipherSuites: ALLOWED } });
  });
});
