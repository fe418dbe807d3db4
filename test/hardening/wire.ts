/**
 * Raw protobuf bytes and raw gRPC calls, so the fuzzer can send what no generated client would:
 * invalid UTF-8, unknown enum numbers, negative varints, unknown fields, oversized repeats.
 */
import { Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import { channelArgs, readClientTls } from '../../client-sdk/wire.js';

export type Field =
  | { readonly n: number; readonly varint: bigint | number }
  | { readonly n: number; readonly bytes: Uint8Array | string }
  | { readonly n: number; readonly fixed64: bigint };

function varint(value: bigint): number[] {
  // Negative int32/int64 values are sent as 10-byte two's complement varints, like protoc does.
  let v = value < 0n ? (1n << 64n) + value : value;
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

/** Encodes fields in the given order (repeated fields: repeat the entry). */
export function encode(fields: readonly Field[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    if ('varint' in f) {
      parts.push(Buffer.from([...varint(BigInt(f.n << 3)), ...varint(BigInt(f.varint))]));
    } else if ('fixed64' in f) {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt.asUintN(64, f.fixed64));
      parts.push(Buffer.from(varint(BigInt((f.n << 3) | 1))), b);
    } else {
      const body = typeof f.bytes === 'string' ? Buffer.from(f.bytes, 'utf8') : Buffer.from(f.bytes);
      parts.push(Buffer.from([...varint(BigInt((f.n << 3) | 2)), ...varint(BigInt(body.length))]), body);
    }
  }
  return Buffer.concat(parts);
}

export const str = (n: number, value: Uint8Array | string): Field => ({ n, bytes: value });
export const num = (n: number, value: bigint | number): Field => ({ n, varint: value });
export const msg = (n: number, fields: readonly Field[]): Field => ({ n, bytes: encode(fields) });

export interface RawOutcome {
  readonly code: number;
  readonly details: string;
  /** Stream calls: messages received before the end (or before the test cancelled). */
  readonly messages: number;
}

const identityBuffer = (b: Buffer): Buffer => b;

/** A raw client for one identity (e.g. `host-web-1`). */
export function rawClient(address: string, certDir: string, base: string): Client {
  return new Client(
    ...channelArgs(address, readClientTls(certDir, base), {
      'grpc.max_send_message_length': 16 * 1024 * 1024,
    }),
  );
}

export function rawUnary(
  client: Client,
  path: string,
  body: Buffer,
  deadlineMs = 10_000,
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      identityBuffer,
      identityBuffer,
      body,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err: ServiceError | null) => {
        resolve(
          err === null
            ? { code: 0, details: '', messages: 1 }
            : { code: err.code, details: err.details, messages: 0 },
        );
      },
    );
  });
}

/** A server stream: read up to `keep` messages, then cancel (a cancel after data counts as OK). */
export function rawStream(
  client: Client,
  path: string,
  body: Buffer,
  keep = 1,
  deadlineMs = 10_000,
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    let messages = 0;
    let done = false;
    const call = client.makeServerStreamRequest(path, identityBuffer, identityBuffer, body, new Metadata(), {
      deadline: Date.now() + deadlineMs,
    });
    const finish = (o: RawOutcome): void => {
      if (done) return;
      done = true;
      resolve(o);
    };
    call.on('data', () => {
      messages++;
      if (messages >= keep) {
        finish({ code: 0, details: '', messages });
        call.cancel();
      }
    });
    call.on('error', (err: ServiceError) => {
      finish({ code: err.code, details: err.details, messages });
    });
    call.on('end', () => {
      finish({ code: 0, details: '', messages });
    });
  });
}
