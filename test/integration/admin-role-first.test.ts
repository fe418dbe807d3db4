/**
 * Issue 10: the role check comes before field validation on every Admin RPC. A host or firewall
 * certificate gets PERMISSION_DENIED even for a malformed request, so the API's validation
 * messages are shown to admins only. The methods come from the service definition and the
 * malformed requests are built from each method's request descriptor, so a new Admin method is
 * covered without editing this file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, type Client, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';
import { adminClient, readClientTls, type AdminClient } from '../../client-sdk/wire.js';
import { loadPinholeProto } from '../../server/rpc/proto.js';
import { removeDir, type TestServer } from '../helpers/pinhole.js';
import { startAdminTestServer } from './admin-fixtures.js';

interface FieldDescriptor {
  readonly name: string;
  readonly type: string;
  readonly label: string;
}

/** The descriptor proto-loader attaches to each method's request type. */
function requestFields(method: MethodDefinition<unknown, unknown>): readonly FieldDescriptor[] {
  const requestType: unknown = (method as unknown as { requestType?: unknown }).requestType;
  if (typeof requestType !== 'object' || requestType === null || !('type' in requestType)) return [];
  const type: unknown = requestType.type;
  if (typeof type !== 'object' || type === null || !('field' in type) || !Array.isArray(type.field))
    return [];
  return type.field as FieldDescriptor[];
}

const camel = (name: string): string => name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** A value no validator accepts for a field of this type (or the nearest thing for bools/enums). */
function badValue(type: string): unknown {
  switch (type) {
    case 'TYPE_STRING':
      // Too long, control characters, not a name, id, address or time.
      return `../\u0000 not valid ${'x'.repeat(5000)}`;
    case 'TYPE_INT64':
    case 'TYPE_SINT64':
    case 'TYPE_SFIXED64':
      return '-9007199254740993';
    case 'TYPE_UINT64':
    case 'TYPE_FIXED64':
      return '18446744073709551615';
    case 'TYPE_INT32':
    case 'TYPE_SINT32':
    case 'TYPE_SFIXED32':
      return -2147483648;
    case 'TYPE_UINT32':
    case 'TYPE_FIXED32':
      return 4294967295;
    case 'TYPE_BOOL':
      return true;
    case 'TYPE_MESSAGE':
      // An empty message where one with required content is expected.
      return {};
    default:
      return undefined;
  }
}

function malformed(method: MethodDefinition<unknown, unknown>): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  for (const f of requestFields(method)) {
    const value = badValue(f.type);
    if (value === undefined) continue;
    request[camel(f.name)] = f.label === 'LABEL_REPEATED' ? [value, value] : value;
  }
  return request;
}

/** Calls `name` on `client` with `request`; resolves with the status code it ended with. */
function callStatus(
  client: Client,
  method: MethodDefinition<unknown, unknown>,
  request: Record<string, unknown>,
): Promise<{ code: status; details: string }> {
  return new Promise((resolve) => {
    const done = (err: ServiceError | null): void => {
      resolve(err === null ? { code: status.OK, details: '' } : { code: err.code, details: err.details });
    };
    if (method.responseStream) {
      const stream = client.makeServerStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
      );
      stream.on('data', () => undefined);
      stream.on('error', done);
      stream.on('end', () => {
        done(null);
      });
    } else {
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        (err: ServiceError | null) => {
          done(err);
        },
      );
    }
  });
}

const methods = Object.entries(loadPinholeProto().pinhole.v1.Admin.service) as [
  string,
  MethodDefinition<unknown, unknown>,
][];

let ts: TestServer;
let host: AdminClient;
let firewall: AdminClient;
let admin: AdminClient;

beforeAll(async () => {
  ts = await startAdminTestServer();
  host = adminClient(ts.address, readClientTls(ts.certDir, 'host-web-1'));
  firewall = adminClient(ts.address, readClientTls(ts.certDir, 'firewall-gw-1'));
  admin = adminClient(ts.address, readClientTls(ts.certDir, 'admin-alice'));
});

afterAll(async () => {
  host.close();
  firewall.close();
  admin.close();
  await ts.close();
  removeDir(ts.dataDir);
});

describe('Admin RPCs check the role before the request', () => {
  it('enumerates the whole Admin service', () => {
    // A guard against an empty list making every case below vacuous.
    expect(methods.map(([name]) => name)).toEqual(
      expect.arrayContaining(['ListLeases', 'Revoke', 'Approve', 'QueryAudit', 'Explain']),
    );
  });

  it.each(methods)(
    '%s: a malformed request from a host or firewall is PERMISSION_DENIED',
    async (name, method) => {
      const request = malformed(method);
      for (const [who, client] of [
        ['host/web-1', host],
        ['firewall/gw-1', firewall],
      ] as const) {
        const answer = await callStatus(client, method, request);
        expect({ who, name, code: answer.code }).toEqual({ who, name, code: status.PERMISSION_DENIED });
        expect(answer.details).toContain(`${name} needs an admin certificate; ${who} presented`);
      }
    },
  );

  it('shows the same malformed requests to an admin as field errors (the requests really are malformed)', async () => {
    // Every method that has fields to validate refuses these requests for an admin; only the
    // role check stood between the others and that message.
    let validated = 0;
    for (const [name, method] of methods) {
      if (requestFields(method).length === 0) continue;
      const answer = await callStatus(admin, method, malformed(method));
      if (answer.code === status.INVALID_ARGUMENT) validated++;
      expect({ name, denied: answer.code === status.PERMISSION_DENIED }).toEqual({ name, denied: false });
    }
    // Revoke, Approve, Deny and Explain at least validate their fields.
    expect(validated).toBeGreaterThanOrEqual(4);
  });
});
