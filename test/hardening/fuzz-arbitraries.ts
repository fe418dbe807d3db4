/** fast-check arbitraries producing raw protobuf messages of the Pinhole wire contract. */
import fc from 'fast-check';
import { encode, msg, num, str, type Field } from './wire.js';

const INVALID_UTF8: readonly Uint8Array[] = [
  Uint8Array.from([0xff, 0xfe, 0xfd]),
  Uint8Array.from([0xc0, 0xaf]), // overlong '/'
  Uint8Array.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate half
  Uint8Array.from([0x61, 0x80, 0x62]),
  Uint8Array.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
  Uint8Array.from([0x00, 0x0a, 0x1b, 0x5b]),
];

/** Strings at and around every bound, names that exist, and bytes that are not UTF-8. */
export const text: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    'web-1',
    'db-1',
    'gw-1',
    'https',
    'postgresql',
    'telnet',
    'web-tier',
    'db-replicas',
    'lse_x',
    'pnd_x',
    '../../etc/passwd',
    'a'.repeat(128),
    'a'.repeat(129),
    'x'.repeat(1025),
    '\u0000',
    'é'.repeat(600),
  ),
  fc.constantFrom(...INVALID_UTF8),
  fc.uint8Array({ maxLength: 64 }),
);

const CIDRS = [
  '1.2.3.4/33',
  '::ffff:0:0/96',
  '::ffff:1.2.3.4/128',
  '198.18.1.0/24',
  '0.0.0.0/0',
  '::/0',
  '1.2.3.4/-1',
  '1.2.3.4/',
  '/24',
  '300.1.1.1/8',
  'fe80::1%eth0/64',
  '1.2.3.4/32 ',
  ' 1.2.3.4',
  '1.2.3.4/08',
  '2001:db8::/129',
  '198.18.0.2',
  '::',
  '1.2.3.4/24/8',
];
const cidr = fc.oneof(
  fc.constantFrom(...CIDRS),
  fc.ipV4(),
  fc.ipV6(),
  fc.tuple(fc.ipV4(), fc.integer({ min: -5, max: 140 })).map(([a, p]) => `${a}/${p}`),
  text,
);

/** uint32 values at the bounds of ports and TTLs, and anywhere else. */
export const u32 = fc.oneof(
  fc.constantFrom(0, 1, 29, 30, 65535, 65536, 604800, 604801, 2 ** 31 - 1, 2 ** 32 - 1),
  fc.nat(),
);
/** Enum numbers, known and not (including negative: a 10-byte varint). */
const enumNum = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 99, -1, 2 ** 31 - 1), fc.integer());
const int64 = fc.oneof(
  fc.constantFrom(0n, 1n, -1n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
);

/** Fields this contract does not have, of every wire type: must be skipped. */
const unknownFields = fc.array(
  fc.oneof(
    fc.record({
      n: fc.integer({ min: 100, max: 10_000 }),
      varint: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    }),
    fc.record({ n: fc.integer({ min: 100, max: 10_000 }), bytes: fc.uint8Array({ maxLength: 32 }) }),
    fc.record({
      n: fc.integer({ min: 100, max: 10_000 }),
      fixed64: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    }),
  ),
  { maxLength: 3 },
);

/** Sometimes a handful, sometimes far past the contract's limit. */
function many<T>(arb: fc.Arbitrary<T>, small: number, huge: number): fc.Arbitrary<T[]> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.array(arb, { maxLength: small }) },
    { weight: 1, arbitrary: arb.chain((v) => fc.constant(Array.from({ length: huge }, () => v))) },
  );
}

const source: fc.Arbitrary<Field> = fc
  .oneof(
    cidr.map((c) => [str(1, c)]),
    text.map((g) => [str(2, g)]),
    text.map((h) => [str(3, h)]),
    fc.integer({ min: 0, max: 3 }).map((b) => [num(4, b)]),
    fc.constant([] as Field[]),
    fc.tuple(cidr, text).map(([c, g]) => [str(1, c), str(2, g)]), // two members of a oneof: the last wins
  )
  .map((fields) => msg(4, fields));

const portRange = fc
  .tuple(enumNum, u32, u32)
  .map(([p, from, to]) => msg(2, [num(1, p), num(2, from), num(3, to)]));

const openingSpec: fc.Arbitrary<Field[]> = fc
  .tuple(
    fc.oneof(
      text.map((a) => [str(1, a)]),
      portRange.map((p) => [p]),
      fc.constant([] as Field[]),
      fc.tuple(text, portRange).map(([a, p]) => [str(1, a), p]),
    ),
    many(fc.oneof(cidr, fc.constantFrom('198.18.0.2', '198.18.1.10', '10.0.0.1')), 3, 1000),
    many(source, 3, 500),
  )
  .map(([what, dests, sources]) => [...what, ...dests.map((d) => str(3, d)), ...sources]);

/** OpenRequest as bytes; also reused inside Explain. */
export const openRequestFields: fc.Arbitrary<Field[]> = fc
  .tuple(
    fc.oneof(text, fc.uuid()),
    many(openingSpec, 3, 100),
    u32,
    fc.oneof(text, fc.constant('d'.repeat(2000))),
    fc.integer({ min: 0, max: 300 }),
    unknownFields,
  )
  .map(([id, specs, ttl, description, aon, extra]) => [
    str(1, id),
    ...specs.map((s) => msg(2, s)),
    num(3, ttl),
    str(4, description),
    num(5, aon),
    ...extra,
  ]);

/** Requests one mutation away from valid, so policy, decisions and the own-address rule are reached too. */
const nearValidOpen: fc.Arbitrary<Field[]> = fc
  .tuple(
    fc.uuid(),
    fc.oneof(
      fc
        .constantFrom(
          'https',
          'http',
          'postgresql',
          'telnet',
          'ssh',
          'bacula-fd',
          'node-exporter',
          'no-such-app',
        )
        .map((a) => [str(1, a)]),
      fc
        .tuple(
          fc.constantFrom(1, 2, 3, 0, 7),
          fc.constantFrom(443, 5432, 23, 1, 65535, 0, 70000),
          fc.constantFrom(0, 443, 80, 65535, 65536),
        )
        .map(([p, f, t]) => [msg(2, [num(1, p), num(2, f), num(3, t)])]),
    ),
    fc.array(fc.constantFrom('198.18.0.2', '198.18.1.10', '::1', '198.18.0.2'), { maxLength: 2 }),
    fc.array(
      fc.oneof(
        fc.constant(msg(4, [num(4, 1)])),
        fc
          .constantFrom('198.18.1.0/24', '1.2.3.4/33', '::ffff:0:0/96', '0.0.0.0/0', '203.0.113.9')
          .map((c) => msg(4, [str(1, c)])),
        fc.constantFrom('web-tier', 'replica-net', 'nope').map((g) => msg(4, [str(2, g)])),
        fc.constantFrom('db-1', 'web-1', 'nobody').map((h) => msg(4, [str(3, h)])),
      ),
      { maxLength: 3 },
    ),
    u32,
    fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(...INVALID_UTF8)),
    fc.boolean(),
  )
  .map(([id, what, dests, sources, ttl, d, aon]) => [
    str(1, id),
    msg(2, [...what, ...dests.map((x) => str(3, x)), ...sources]),
    num(3, ttl),
    str(4, d),
    num(5, aon ? 1 : 0),
  ]);

export const openRequest = fc.oneof(openRequestFields, nearValidOpen).map(encode);

/** Renew/Release: a lease id (`known()` ids of real leases, or junk) and a TTL. */
export const leaseRequest = (known: () => readonly string[]): fc.Arbitrary<Buffer> =>
  fc
    .tuple(
      fc.oneof(
        text,
        fc.nat().map((i) => known()[i % Math.max(1, known().length)] ?? 'lse_none'),
      ),
      u32,
      unknownFields,
    )
    .map(([id, ttl, extra]) => encode([str(1, id), num(2, ttl), ...extra]));

export const emptyRequest = unknownFields.map(encode);

const scopeName = fc.oneof(text, fc.constantFrom('web-1', 'db-1', 'web-tier', 'db-replicas', 'nope'));
export const watchRequest = fc
  .tuple(many(scopeName, 4, 3000), many(scopeName, 4, 300), fc.oneof(int64, fc.constantFrom(0n, 1n, 3n)))
  .map(([hosts, groups, from]) =>
    encode([msg(1, [...hosts.map((h) => str(1, h)), ...groups.map((g) => str(2, g))]), num(2, from)]),
  );

export const reportStatus = fc
  .tuple(
    int64,
    many(text, 3, 500),
    text,
    many(text, 3, 500),
    fc.array(fc.tuple(text, int64, int64), { maxLength: 3 }),
  )
  .map(([rev, applied, error, tamper, counters]) =>
    encode([
      num(1, rev),
      ...applied.map((a) => str(2, a)),
      str(3, error),
      ...tamper.map((t) => str(4, t)),
      ...counters.map(([id, p, b]) => msg(5, [str(1, id), num(2, p), num(3, b)])),
    ]),
  );

/** One admin call: [method, request bytes, is a server stream]. */
export const adminCall: fc.Arbitrary<[string, Buffer, boolean]> = fc.oneof(
  fc
    .tuple(text, fc.integer({ min: 0, max: 5 }), u32)
    .map(([h, e, l]): [string, Buffer, boolean] => [
      'ListLeases',
      encode([str(1, h), num(2, e), num(3, l)]),
      false,
    ]),
  fc.constant<[string, Buffer, boolean]>(['ListPending', Buffer.alloc(0), false]),
  fc
    .tuple(text, u32, many(cidr, 3, 500), text)
    .map(([id, ttl, cidrs, c]): [string, Buffer, boolean] => [
      'Approve',
      encode([str(1, id), num(2, ttl), ...cidrs.map((x) => str(3, x)), str(4, c)]),
      false,
    ]),
  fc
    .tuple(text, text)
    .map(([id, r]): [string, Buffer, boolean] => ['Deny', encode([str(1, id), str(2, r)]), false]),
  fc
    .tuple(text, text)
    .map(([id, r]): [string, Buffer, boolean] => ['Revoke', encode([str(1, id), str(2, r)]), false]),
  fc
    .tuple(text, many(cidr, 3, 500), openRequestFields)
    .map(([h, a, r]): [string, Buffer, boolean] => [
      'Explain',
      encode([str(1, h), ...a.map((x) => str(2, x)), msg(3, r)]),
      false,
    ]),
  fc
    .tuple(text, text, text, enumNum, int64, int64, u32)
    .map(([h, a, r, d, s, u, l]): [string, Buffer, boolean] => [
      'QueryAudit',
      encode([str(1, h), str(2, a), str(3, r), num(4, d), num(5, s), num(6, u), num(7, l)]),
      true,
    ]),
  fc.constant<[string, Buffer, boolean]>(['VerifyAudit', Buffer.alloc(0), false]),
  fc.constant<[string, Buffer, boolean]>(['ListEnforcers', Buffer.alloc(0), false]),
);
