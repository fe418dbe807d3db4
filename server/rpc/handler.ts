/**
 * Wraps every handler: authenticates the caller, runs the domain call, maps errors in one place
 * (status.ts) and writes one log line per request. Nothing thrown escapes to grpc-js, which
 * would send a thrown error's raw message to the client.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { isPinholeError } from '../core/errors.js';
import type { Caller } from '../lease/caller.js';
import { callerOf, type ServerSurfaceCall } from './caller.js';
import { toServiceError } from './status.js';

export interface HandlerContext {
  readonly log: Logger;
  readonly trustDomain: string;
}

/** Fields a handler adds to its request's log line (decision, rule, lease...). */
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface UnaryResult<Res> {
  readonly response: Res;
  readonly log?: LogFields;
}

export function unary<Req, Res>(
  ctx: HandlerContext,
  method: string,
  fn: (caller: Caller, request: Req, call: ServerUnaryCall<Req, Res>) => Promise<UnaryResult<Res>>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const started = performance.now();
    const tag = randomUUID();
    let caller: Caller | undefined;
    const run = async (): Promise<UnaryResult<Res>> => {
      caller = callerOf(call, ctx.trustDomain);
      return fn(caller, call.request, call);
    };
    run().then(
      (result) => {
        logLine(ctx.log, method, caller, call, started, tag, { outcome: 'OK', ...result.log });
        callback(null, result.response);
      },
      (error: unknown) => {
        const serviceError = toServiceError(error, tag);
        logError(ctx.log, method, caller, call, started, tag, error);
        callback(serviceError);
      },
    );
  };
}

export function serverStream<Req, Res>(
  ctx: HandlerContext,
  method: string,
  fn: (caller: Caller, request: Req, call: ServerWritableStream<Req, Res>) => Promise<LogFields | undefined>,
): (call: ServerWritableStream<Req, Res>) => void {
  return (call) => {
    const started = performance.now();
    const tag = randomUUID();
    let caller: Caller | undefined;
    const run = async (): Promise<LogFields | undefined> => {
      caller = callerOf(call, ctx.trustDomain);
      return fn(caller, call.request, call);
    };
    run().then(
      (fields) => {
        logLine(ctx.log, method, caller, call, started, tag, { outcome: 'OK', ...fields });
        call.end();
      },
      (error: unknown) => {
        logError(ctx.log, method, caller, call, started, tag, error);
        // grpc-js turns an 'error' event into the trailing status after buffered messages;
        // destroy() would drop the status and leave the client without a reason.
        call.emit('error', Object.assign(new Error('stream failed'), toServiceError(error, tag)));
      },
    );
  };
}

function requestIdOf(call: ServerSurfaceCall): string | undefined {
  const r = call.request;
  if (typeof r === 'object' && r !== null && 'requestId' in r && typeof r.requestId === 'string') return r.requestId;
  return undefined;
}

function baseFields(method: string, caller: Caller | undefined, call: ServerSurfaceCall, started: number, tag: string): LogFields {
  return {
    method,
    tag,
    identity: caller === undefined ? undefined : `${caller.identity.role}/${caller.identity.name}`,
    fingerprint: caller?.identity.fingerprint.slice(0, 16),
    peer: call.getPeer(),
    requestId: requestIdOf(call),
    latencyMs: Math.round((performance.now() - started) * 100) / 100,
  };
}

function logLine(log: Logger, method: string, caller: Caller | undefined, call: ServerSurfaceCall, started: number, tag: string, extra: LogFields): void {
  log.info({ ...baseFields(method, caller, call, started, tag), ...extra }, 'request');
}

function logError(log: Logger, method: string, caller: Caller | undefined, call: ServerSurfaceCall, started: number, tag: string, error: unknown): void {
  const fields = baseFields(method, caller, call, started, tag);
  if (isPinholeError(error) && error.code !== 'INTERNAL') {
    // Client mistakes and transient failures: info, with the message the client saw.
    log.info({ ...fields, outcome: error.code, error: error.message }, 'request refused');
  } else {
    log.error({ ...fields, outcome: 'INTERNAL', err: error }, 'request failed');
  }
}
