// Original file: proto/pinhole/v1/watch.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { EnforcerStatus as _pinhole_v1_EnforcerStatus, EnforcerStatus__Output as _pinhole_v1_EnforcerStatus__Output } from '../../pinhole/v1/EnforcerStatus.js';
import type { ReportStatusResponse as _pinhole_v1_ReportStatusResponse, ReportStatusResponse__Output as _pinhole_v1_ReportStatusResponse__Output } from '../../pinhole/v1/ReportStatusResponse.js';
import type { WatchEvent as _pinhole_v1_WatchEvent, WatchEvent__Output as _pinhole_v1_WatchEvent__Output } from '../../pinhole/v1/WatchEvent.js';
import type { WatchRequest as _pinhole_v1_WatchRequest, WatchRequest__Output as _pinhole_v1_WatchRequest__Output } from '../../pinhole/v1/WatchRequest.js';

export interface LeaseWatchClient extends grpc.Client {
  /**
   * An enforcer's periodic report: applied revision, errors, tamper events, usage counters.
   */
  ReportStatus(argument: _pinhole_v1_EnforcerStatus, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReportStatusResponse__Output>): grpc.ClientUnaryCall;
  ReportStatus(argument: _pinhole_v1_EnforcerStatus, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ReportStatusResponse__Output>): grpc.ClientUnaryCall;
  ReportStatus(argument: _pinhole_v1_EnforcerStatus, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReportStatusResponse__Output>): grpc.ClientUnaryCall;
  ReportStatus(argument: _pinhole_v1_EnforcerStatus, callback: grpc.requestCallback<_pinhole_v1_ReportStatusResponse__Output>): grpc.ClientUnaryCall;
  /**
   * An enforcer's periodic report: applied revision, errors, tamper events, usage counters.
   */
  reportStatus(argument: _pinhole_v1_EnforcerStatus, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReportStatusResponse__Output>): grpc.ClientUnaryCall;
  reportStatus(argument: _pinhole_v1_EnforcerStatus, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ReportStatusResponse__Output>): grpc.ClientUnaryCall;
  reportStatus(argument: _pinhole_v1_EnforcerStatus, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReportStatusResponse__Output>): grpc.ClientUnaryCall;
  reportStatus(argument: _pinhole_v1_EnforcerStatus, callback: grpc.requestCallback<_pinhole_v1_ReportStatusResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * A snapshot of live leases in scope (from_revision = 0) or every event after
   * from_revision, then live events until cancelled.
   */
  Watch(argument: _pinhole_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_WatchEvent__Output>;
  Watch(argument: _pinhole_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_WatchEvent__Output>;
  /**
   * A snapshot of live leases in scope (from_revision = 0) or every event after
   * from_revision, then live events until cancelled.
   */
  watch(argument: _pinhole_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_WatchEvent__Output>;
  watch(argument: _pinhole_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_WatchEvent__Output>;
  
}

export interface LeaseWatchHandlers extends grpc.UntypedServiceImplementation {
  /**
   * An enforcer's periodic report: applied revision, errors, tamper events, usage counters.
   */
  ReportStatus: grpc.handleUnaryCall<_pinhole_v1_EnforcerStatus__Output, _pinhole_v1_ReportStatusResponse>;
  
  /**
   * A snapshot of live leases in scope (from_revision = 0) or every event after
   * from_revision, then live events until cancelled.
   */
  Watch: grpc.handleServerStreamingCall<_pinhole_v1_WatchRequest__Output, _pinhole_v1_WatchEvent>;
  
}

export interface LeaseWatchDefinition extends grpc.ServiceDefinition {
  ReportStatus: MethodDefinition<_pinhole_v1_EnforcerStatus, _pinhole_v1_ReportStatusResponse, _pinhole_v1_EnforcerStatus__Output, _pinhole_v1_ReportStatusResponse__Output>
  Watch: MethodDefinition<_pinhole_v1_WatchRequest, _pinhole_v1_WatchEvent, _pinhole_v1_WatchRequest__Output, _pinhole_v1_WatchEvent__Output>
}
