/**
 * How SDK clients check the server they dial (client-sdk/wire.ts `channelArgs`). Dialing an IP,
 * they send a DNS name as the TLS server name, so Node no longer warns (DEP0123) on every
 * connection, and still require what they always did: a certificate from the Pinhole CA that
 * names the dialed address (or the `--server-name` given).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createSecureContext, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Server, ServerCredentials, status, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import { createClient, PinholeClientError } from '../../client-sdk/index.js';
import {
  adminClient,
  channelCredentials,
  IP_TARGET_SERVER_NAME,
  openingClient,
  readClientTls,
  watchClient,
  type ClientTls,
} from '../../client-sdk/wire.js';
import { createCa, issueCertificate, readTrustDomain, type PemPair } from '../../server/identity/pki.js';
import { readFileSync, startTestServer, unaryCall, type TestServer } from '../helpers/pinhole.js';
import { rawOpening } from '../helpers/raw-proto.js';
import { join } from 'node:path';

const isDep0123 = (w: Error): boolean => (w as Error & { code?: string }).code === 'DEP0123';

let ts: TestServer;
let web1: ClientTls;
const warnings: Error[] = [];
const onWarning = (w: Error): void => {
  warnings.push(w);
};
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  process.on('warning', onWarning);
  ts = await startTestServer();
  web1 = readClientTls(ts.certDir, 'host-web-1');
});

afterAll(async () => {
  process.off('warning', onWarning);
  for (const close of closers.splice(0).reverse()) await close();
  await ts.close();
});

/** A gRPC server with no services presenting `pair`: UNIMPLEMENTED means the client accepted it. */
async function bareServer(pair: PemPair, host = '127.0.0.1'): Promise<string> {
  const server = new Server();
  const creds = ServerCredentials.createSsl(
    readFileSync(join(ts.certDir, 'ca.crt')),
    [{ private_key: Buffer.from(pair.keyPem), cert_chain: Buffer.from(pair.certPem) }],
    false,
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(host.includes(':') ? `[${host}]:0` : `${host}:0`, creds, (e, p) => {
      if (e === null) resolve(p);
      else reject(e);
    });
  });
  closers.push(() => {
    server.forceShutdown();
  });
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The dev PKI's `<base>.crt` and `<base>.key`. */
function devPair(base: string): PemPair {
  return {
    certPem: readFileSync(join(ts.certDir, `${base}.crt`), 'utf8'),
    keyPem: readFileSync(join(ts.certDir, `${base}.key`), 'utf8'),
  };
}

/** One ListMine through the SDK's Opening client: the status, and the details of a failure. */
async function dial(
  address: string,
  options: ChannelOptions = {},
): Promise<{ code: number; details: string }> {
  const client = openingClient(address, web1, options);
  try {
    await unaryCall(client, client.ListMine, {});
    return { code: status.OK, details: '' };
  } catch (e) {
    const err = e as ServiceError;
    return { code: err.code, details: err.details };
  } finally {
    client.close();
  }
}

describe('SDK clients dialing the server by IP address', () => {
  it('make their calls with no DEP0123 warning, where grpc-js on its own warns', async () => {
    const sdk = createClient({ server: ts.address, certDir: ts.certDir, identity: 'host-web-1' });
    closers.push(() => sdk.close());
    expect(await sdk.listMine()).toEqual([]);
    const admin = adminClient(ts.address, readClientTls(ts.certDir, 'admin-alice'));
    const firewall = watchClient(ts.address, readClientTls(ts.certDir, 'firewall-gw-1'));
    closers.push(
      () => {
        admin.close();
      },
      () => {
        firewall.close();
      },
    );
    expect((await unaryCall(admin, admin.ListLeases, {})).leases).toEqual([]);
    await new Promise<void>((resolve, reject) => {
      firewall.waitForReady(Date.now() + 10_000, (e) => {
        if (e === undefined) resolve();
        else reject(e);
      });
    });
    await new Promise(setImmediate); // process.emitWarning delivers on the next tick
    expect(warnings.filter(isDep0123)).toEqual([]);

    // The control: the listener does see the warning when a client sends the IP. Node warns once
    // per process, so the control comes after the checks above.
    const plain = new (rawOpening().Opening)(ts.address, channelCredentials(web1));
    closers.push(() => {
      plain.close();
    });
    await unaryCall(plain, plain.ListMine, {});
    await new Promise(setImmediate);
    expect(warnings.filter(isDep0123)).toHaveLength(1);
  });
});

describe('the server identity SDK clients accept', () => {
  it('send a DNS name as the TLS server name, never the IP dialed', async () => {
    const pair = devPair('server');
    const context = createSecureContext({ key: pair.keyPem, cert: pair.certPem });
    const names: string[] = [];
    // SNICallback runs for every ClientHello that carries a server name, and only then.
    const tlsServer = createTlsServer({
      key: pair.keyPem,
      cert: pair.certPem,
      ALPNProtocols: ['h2'],
      SNICallback: (name, callback) => {
        names.push(name);
        callback(null, context);
      },
    });
    tlsServer.on('secureConnection', (socket: TLSSocket) => {
      socket.destroy();
    });
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    closers.push(() => {
      tlsServer.close();
    });
    await dial(`127.0.0.1:${(tlsServer.address() as AddressInfo).port}`);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names)).toEqual(new Set([IP_TARGET_SERVER_NAME]));
  });

  it("accept the Pinhole server's certificate, which names the IP dialed (IPv4 and IPv6)", async () => {
    const server = devPair('server');
    expect(await dial(await bareServer(server))).toMatchObject({ code: status.UNIMPLEMENTED });
    expect(await dial(await bareServer(server, '::1'))).toMatchObject({ code: status.UNIMPLEMENTED });
  });

  it('refuse a certificate of the Pinhole CA that does not name the IP dialed', async () => {
    // host-web-1 names 198.18.0.2, firewall-gw-1 names no address at all.
    for (const base of ['host-web-1', 'firewall-gw-1']) {
      for (const host of ['127.0.0.1', '::1']) {
        const { code, details } = await dial(await bareServer(devPair(base), host));
        expect(code).toBe(status.UNAVAILABLE);
        expect(details).toContain(`IP: ${host} is not in the cert's list`);
      }
    }
    // What applications see through createClient.
    const sdk = createClient({
      server: await bareServer(devPair('host-web-1')),
      certDir: ts.certDir,
      identity: 'host-web-1',
    });
    closers.push(() => sdk.close());
    const refused = await sdk.listMine().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PinholeClientError);
    expect(refused).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining("is not in the cert's list"),
    });
  });

  it('refuse a certificate that names the IP dialed but comes from another CA', async () => {
    const stranger = issueCertificate({
      ca: createCa({ trustDomain: readTrustDomain(ts.certDir), days: 30, commonName: 'Stranger CA' }),
      trustDomain: readTrustDomain(ts.certDir),
      role: 'server',
      name: 'pinhole-server',
      ips: ['127.0.0.1'],
      dnsNames: [IP_TARGET_SERVER_NAME],
    });
    const { code, details } = await dial(await bareServer(stranger));
    expect(code).toBe(status.UNAVAILABLE);
    expect(details).toMatch(/unable to (get local issuer certificate|verify the first certificate)/);
  });

  it('check the name given as grpc.ssl_target_name_override (the agent --server-name) instead', async () => {
    const address = await bareServer(devPair('server'));
    expect(await dial(address, { 'grpc.ssl_target_name_override': 'localhost' })).toMatchObject({
      code: status.UNIMPLEMENTED,
    });
    const { code, details } = await dial(address, { 'grpc.ssl_target_name_override': 'db.example' });
    expect(code).toBe(status.UNAVAILABLE);
    expect(details).toContain("Host: db.example. is not in the cert's altnames");
  });
});
