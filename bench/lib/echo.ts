/**
 * The baseline for decisions/s: a bare grpc-js unary echo service with raw byte messages (no
 * protobuf, no handler work), served with the same certificates and mutual TLS as Pinhole. A
 * request says how large its response is, so an exchange can mirror Open's and Release's sizes.
 */
import { Client, type ClientOptions, type ServiceDefinition } from '@grpc/grpc-js';
import { channelArgs, type ClientTls } from '../../client-sdk/wire.js';

const PATH = '/bench.Echo/Echo';
const identity = (b: Buffer): Buffer => b;

export const ECHO_SERVICE: ServiceDefinition = {
  Echo: {
    path: PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** A request of `requestBytes` asking for a response of `responseBytes`. */
export function echoRequest(requestBytes: number, responseBytes: number): Buffer {
  const b = Buffer.alloc(Math.max(4, requestBytes), 0x61);
  b.writeUInt32BE(responseBytes, 0);
  return b;
}

/** The response the echo server sends for `request`. */
export function echoResponse(request: Buffer): Buffer {
  return Buffer.alloc(request.length >= 4 ? request.readUInt32BE(0) : 0, 0x62);
}

/** Dialled as the SDK's clients dial (channelArgs: the same credentials, server name and check). */
export function echoClient(address: string, tls: ClientTls, options: ClientOptions = {}): Client {
  return new Client(...channelArgs(address, tls, options));
}

export function echoCall(client: Client, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<Buffer, Buffer>(PATH, identity, identity, request, (err, res) => {
      if (err !== null) reject(err);
      else if (res === undefined) reject(new Error('echo: empty response'));
      else resolve(res);
    });
  });
}
