/**
 * Wraps every handler: authenticates the caller, runs the domain call, maps errors in one place
 * (status.ts) and writes one log line per request. Nothing thrown escapes to grpc-js, which
 * would send a thrown error's raw message to the client.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { isPinholeError, PinholeError } from '../core/errors.js';
import type { Caller } from '../lease/caller.js';
import type { RevocationSource } from '../identity/tls-runtime.js';
import { callerOf, type ConnectionPeers, type ServerSurfaceCall } from './caller.js';
import { toServiceError } from './status.js';

export interface HandlerContext {
  readonly log: Logger;
  readonly trustDomain: string;
  /** Metrics hook (server/ops/metrics.ts): once per request; `seconds` for unary calls only. */
  readonly observe?: (method: string, outcome: string, seconds: number | undefined) => void;
  /** Open server streams; shutdown calls each to end its stream with UNAVAILABLE instead of waiting for it. */
  readonly streams?: Set<() => void>;
  /** Revoked client certificates (the CRL), checked on every call; none when absent. */
  readonly certificates?: RevocationSource;
  /** Peer certificates by connection (the gRPC server's own TLS listener); per call when absent. */
  readonly connections?: ConnectionPeers;
}

/** The outcome label of a failed request: its error code, INTERNAL for anything else. */
function errorOutcome(error: unknown): string {
  return isPinholeError(error) ? error.code : 'INTERNAL';
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
      caller = callerOf(call, ctx.trustDomain, ctx.certificates, ctx.connections);
      return fn(caller, call.request, call);
    };
    run().then(
      (result) => {
        logLine(ctx.log, method, caller, call, started, tag, { outcome: 'OK', ...result.log });
        const decision = result.log?.decision;
        ctx.observe?.(
          method,
          typeof decision === 'string' ? decision : 'OK',
          (performance.now() - started) / 1000,
        );
        callback(null, result.response);
      },
      (error: unknown) => {
        const serviceError = toServiceError(error, tag);
        logError(ctx.log, method, caller, call, started, tag, error);
        ctx.observe?.(method, errorOutcome(error), (performance.now() - started) / 1000);
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
    let finished = false;
    // grpc-js turns an 'error' event into the trailing status after buffered messages;
    // destroy() would drop the status and leave the client without a reason.
    const fail = (error: unknown): void => {
      call.emit('error', Object.assign(new Error('stream failed'), toServiceError(error, tag)));
    };
    const stop = (): void => {
      if (finished) return;
      finished = true;
      ctx.observe?.(method, 'UNAVAILABLE', undefined);
      fail(
        new PinholeError(
          'UNAVAILABLE',
          'the server is shutting down; call again (another server) to continue',
          { retryAfterMs: 500 },
        ),
      );
      // The handler's own cancel path (as for a client cancel) releases what it holds.
      call.cancelled = true;
      call.emit('cancelled', 'cancelled');
    };
    ctx.streams?.add(stop);
    const run = async (): Promise<LogFields | undefined> => {
      caller = callerOf(call, ctx.trustDomain, ctx.certificates, ctx.connections);
      return fn(caller, call.request, call);
    };
    void run()
      .then(
        (fields) => {
          logLine(ctx.log, method, caller, call, started, tag, {
            outcome: finished ? 'UNAVAILABLE' : 'OK',
            ...fields,
          });
          if (finished) return;
          ctx.observe?.(method, 'OK', undefined);
          call.end();
        },
        (error: unknown) => {
          logError(ctx.log, method, caller, call, started, tag, error);
          if (finished) return;
          ctx.observe?.(method, errorOutcome(error), undefined);
          fail(error);
        },
      )
      .finally(() => {
        finished = true;
        ctx.streams?.delete(stop);
      });
  };
}

function requestIdOf(call: ServerSurfaceCall): string | undefined {
  const r = call.request;
  if (typeof r === 'object' && r !== null && 'requestId' in r && typeof r.requestId === 'string')
    return r.requestId;
  return undefined;
}

function baseFields(
  method: string,
  caller: Caller | undefined,
  call: ServerSurfaceCall,
  started: number,
  tag: string,
): LogFields {
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

function logLine(
  log: Logger,
  method: string,
  caller: Caller | undefined,
  call: ServerSurfaceCall,
  started: number,
  tag: string,
  extra: LogFields,
): void {
  log.info({ ...baseFields(method, caller, call, started, tag), ...extra }, 'request');
}

function logError(
  log: Logger,
  method: string,
  caller: Caller | undefined,
  call: ServerSurfaceCall,
  started: number,
  tag: string,
  error: unknown,
): void {
  const fields = baseFields(method, caller, call, started, tag);
  if (isPinholeError(error) && error.code !== 'INTERNAL') {
    // Client mistakes and transient failures: info, with the message the client saw.
    log.info({ ...fields, outcome: error.code, error: error.message }, 'request refused');
  } else {
    log.error({ ...fields, outcome: 'INTERNAL', err: error }, 'request failed');
  }
}
