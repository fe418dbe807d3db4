// Original file: proto/pinhole/v1/opening.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ListMineRequest as _pinhole_v1_ListMineRequest, ListMineRequest__Output as _pinhole_v1_ListMineRequest__Output } from '../../pinhole/v1/ListMineRequest.js';
import type { ListMineResponse as _pinhole_v1_ListMineResponse, ListMineResponse__Output as _pinhole_v1_ListMineResponse__Output } from '../../pinhole/v1/ListMineResponse.js';
import type { OpenRequest as _pinhole_v1_OpenRequest, OpenRequest__Output as _pinhole_v1_OpenRequest__Output } from '../../pinhole/v1/OpenRequest.js';
import type { OpenResponse as _pinhole_v1_OpenResponse, OpenResponse__Output as _pinhole_v1_OpenResponse__Output } from '../../pinhole/v1/OpenResponse.js';
import type { ReleaseRequest as _pinhole_v1_ReleaseRequest, ReleaseRequest__Output as _pinhole_v1_ReleaseRequest__Output } from '../../pinhole/v1/ReleaseRequest.js';
import type { ReleaseResponse as _pinhole_v1_ReleaseResponse, ReleaseResponse__Output as _pinhole_v1_ReleaseResponse__Output } from '../../pinhole/v1/ReleaseResponse.js';
import type { RenewRequest as _pinhole_v1_RenewRequest, RenewRequest__Output as _pinhole_v1_RenewRequest__Output } from '../../pinhole/v1/RenewRequest.js';
import type { RenewResponse as _pinhole_v1_RenewResponse, RenewResponse__Output as _pinhole_v1_RenewResponse__Output } from '../../pinhole/v1/RenewResponse.js';
import type { WaitDecisionEvent as _pinhole_v1_WaitDecisionEvent, WaitDecisionEvent__Output as _pinhole_v1_WaitDecisionEvent__Output } from '../../pinhole/v1/WaitDecisionEvent.js';
import type { WaitDecisionRequest as _pinhole_v1_WaitDecisionRequest, WaitDecisionRequest__Output as _pinhole_v1_WaitDecisionRequest__Output } from '../../pinhole/v1/WaitDecisionRequest.js';

export interface OpeningClient extends grpc.Client {
  /**
   * The caller's live leases.
   */
  ListMine(argument: _pinhole_v1_ListMineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListMineResponse__Output>): grpc.ClientUnaryCall;
  ListMine(argument: _pinhole_v1_ListMineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ListMineResponse__Output>): grpc.ClientUnaryCall;
  ListMine(argument: _pinhole_v1_ListMineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListMineResponse__Output>): grpc.ClientUnaryCall;
  ListMine(argument: _pinhole_v1_ListMineRequest, callback: grpc.requestCallback<_pinhole_v1_ListMineResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The caller's live leases.
   */
  listMine(argument: _pinhole_v1_ListMineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListMineResponse__Output>): grpc.ClientUnaryCall;
  listMine(argument: _pinhole_v1_ListMineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ListMineResponse__Output>): grpc.ClientUnaryCall;
  listMine(argument: _pinhole_v1_ListMineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListMineResponse__Output>): grpc.ClientUnaryCall;
  listMine(argument: _pinhole_v1_ListMineRequest, callback: grpc.requestCallback<_pinhole_v1_ListMineResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Ask for openings. Idempotent by request_id: a retry returns the first answer.
   */
  Open(argument: _pinhole_v1_OpenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Open(argument: _pinhole_v1_OpenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Open(argument: _pinhole_v1_OpenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Open(argument: _pinhole_v1_OpenRequest, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Ask for openings. Idempotent by request_id: a retry returns the first answer.
   */
  open(argument: _pinhole_v1_OpenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  open(argument: _pinhole_v1_OpenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  open(argument: _pinhole_v1_OpenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  open(argument: _pinhole_v1_OpenRequest, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * End a lease now. Releasing an ended lease is not an error.
   */
  Release(argument: _pinhole_v1_ReleaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReleaseResponse__Output>): grpc.ClientUnaryCall;
  Release(argument: _pinhole_v1_ReleaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ReleaseResponse__Output>): grpc.ClientUnaryCall;
  Release(argument: _pinhole_v1_ReleaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReleaseResponse__Output>): grpc.ClientUnaryCall;
  Release(argument: _pinhole_v1_ReleaseRequest, callback: grpc.requestCallback<_pinhole_v1_ReleaseResponse__Output>): grpc.ClientUnaryCall;
  /**
   * End a lease now. Releasing an ended lease is not an error.
   */
  release(argument: _pinhole_v1_ReleaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReleaseResponse__Output>): grpc.ClientUnaryCall;
  release(argument: _pinhole_v1_ReleaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ReleaseResponse__Output>): grpc.ClientUnaryCall;
  release(argument: _pinhole_v1_ReleaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReleaseResponse__Output>): grpc.ClientUnaryCall;
  release(argument: _pinhole_v1_ReleaseRequest, callback: grpc.requestCallback<_pinhole_v1_ReleaseResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Extend a lease by one term (up to its max lifetime).
   */
  Renew(argument: _pinhole_v1_RenewRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_RenewResponse__Output>): grpc.ClientUnaryCall;
  Renew(argument: _pinhole_v1_RenewRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_RenewResponse__Output>): grpc.ClientUnaryCall;
  Renew(argument: _pinhole_v1_RenewRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_RenewResponse__Output>): grpc.ClientUnaryCall;
  Renew(argument: _pinhole_v1_RenewRequest, callback: grpc.requestCallback<_pinhole_v1_RenewResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Extend a lease by one term (up to its max lifetime).
   */
  renew(argument: _pinhole_v1_RenewRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_RenewResponse__Output>): grpc.ClientUnaryCall;
  renew(argument: _pinhole_v1_RenewRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_RenewResponse__Output>): grpc.ClientUnaryCall;
  renew(argument: _pinhole_v1_RenewRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_RenewResponse__Output>): grpc.ClientUnaryCall;
  renew(argument: _pinhole_v1_RenewRequest, callback: grpc.requestCallback<_pinhole_v1_RenewResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Stream the decision on a PENDING request until it is decided or expires.
   */
  WaitDecision(argument: _pinhole_v1_WaitDecisionRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_WaitDecisionEvent__Output>;
  WaitDecision(argument: _pinhole_v1_WaitDecisionRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_WaitDecisionEvent__Output>;
  /**
   * Stream the decision on a PENDING request until it is decided or expires.
   */
  waitDecision(argument: _pinhole_v1_WaitDecisionRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_WaitDecisionEvent__Output>;
  waitDecision(argument: _pinhole_v1_WaitDecisionRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_WaitDecisionEvent__Output>;
  
}

export interface OpeningHandlers extends grpc.UntypedServiceImplementation {
  /**
   * The caller's live leases.
   */
  ListMine: grpc.handleUnaryCall<_pinhole_v1_ListMineRequest__Output, _pinhole_v1_ListMineResponse>;
  
  /**
   * Ask for openings. Idempotent by request_id: a retry returns the first answer.
   */
  Open: grpc.handleUnaryCall<_pinhole_v1_OpenRequest__Output, _pinhole_v1_OpenResponse>;
  
  /**
   * End a lease now. Releasing an ended lease is not an error.
   */
  Release: grpc.handleUnaryCall<_pinhole_v1_ReleaseRequest__Output, _pinhole_v1_ReleaseResponse>;
  
  /**
   * Extend a lease by one term (up to its max lifetime).
   */
  Renew: grpc.handleUnaryCall<_pinhole_v1_RenewRequest__Output, _pinhole_v1_RenewResponse>;
  
  /**
   * Stream the decision on a PENDING request until it is decided or expires.
   */
  WaitDecision: grpc.handleServerStreamingCall<_pinhole_v1_WaitDecisionRequest__Output, _pinhole_v1_WaitDecisionEvent>;
  
}

export interface OpeningDefinition extends grpc.ServiceDefinition {
  ListMine: MethodDefinition<_pinhole_v1_ListMineRequest, _pinhole_v1_ListMineResponse, _pinhole_v1_ListMineRequest__Output, _pinhole_v1_ListMineResponse__Output>
  Open: MethodDefinition<_pinhole_v1_OpenRequest, _pinhole_v1_OpenResponse, _pinhole_v1_OpenRequest__Output, _pinhole_v1_OpenResponse__Output>
  Release: MethodDefinition<_pinhole_v1_ReleaseRequest, _pinhole_v1_ReleaseResponse, _pinhole_v1_ReleaseRequest__Output, _pinhole_v1_ReleaseResponse__Output>
  Renew: MethodDefinition<_pinhole_v1_RenewRequest, _pinhole_v1_RenewResponse, _pinhole_v1_RenewRequest__Output, _pinhole_v1_RenewResponse__Output>
  WaitDecision: MethodDefinition<_pinhole_v1_WaitDecisionRequest, _pinhole_v1_WaitDecisionEvent, _pinhole_v1_WaitDecisionRequest__Output, _pinhole_v1_WaitDecisionEvent__Output>
}
