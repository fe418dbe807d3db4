// Original file: proto/pinhole/v1/admin.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ApproveRequest as _pinhole_v1_ApproveRequest, ApproveRequest__Output as _pinhole_v1_ApproveRequest__Output } from '../../pinhole/v1/ApproveRequest.js';
import type { AuditQuery as _pinhole_v1_AuditQuery, AuditQuery__Output as _pinhole_v1_AuditQuery__Output } from '../../pinhole/v1/AuditQuery.js';
import type { AuditRecord as _pinhole_v1_AuditRecord, AuditRecord__Output as _pinhole_v1_AuditRecord__Output } from '../../pinhole/v1/AuditRecord.js';
import type { Decision as _pinhole_v1_Decision, Decision__Output as _pinhole_v1_Decision__Output } from '../../pinhole/v1/Decision.js';
import type { DenyRequest as _pinhole_v1_DenyRequest, DenyRequest__Output as _pinhole_v1_DenyRequest__Output } from '../../pinhole/v1/DenyRequest.js';
import type { ExplainRequest as _pinhole_v1_ExplainRequest, ExplainRequest__Output as _pinhole_v1_ExplainRequest__Output } from '../../pinhole/v1/ExplainRequest.js';
import type { Lease as _pinhole_v1_Lease, Lease__Output as _pinhole_v1_Lease__Output } from '../../pinhole/v1/Lease.js';
import type { ListEnforcersRequest as _pinhole_v1_ListEnforcersRequest, ListEnforcersRequest__Output as _pinhole_v1_ListEnforcersRequest__Output } from '../../pinhole/v1/ListEnforcersRequest.js';
import type { ListEnforcersResponse as _pinhole_v1_ListEnforcersResponse, ListEnforcersResponse__Output as _pinhole_v1_ListEnforcersResponse__Output } from '../../pinhole/v1/ListEnforcersResponse.js';
import type { ListLeasesRequest as _pinhole_v1_ListLeasesRequest, ListLeasesRequest__Output as _pinhole_v1_ListLeasesRequest__Output } from '../../pinhole/v1/ListLeasesRequest.js';
import type { ListLeasesResponse as _pinhole_v1_ListLeasesResponse, ListLeasesResponse__Output as _pinhole_v1_ListLeasesResponse__Output } from '../../pinhole/v1/ListLeasesResponse.js';
import type { ListPendingRequest as _pinhole_v1_ListPendingRequest, ListPendingRequest__Output as _pinhole_v1_ListPendingRequest__Output } from '../../pinhole/v1/ListPendingRequest.js';
import type { ListPendingResponse as _pinhole_v1_ListPendingResponse, ListPendingResponse__Output as _pinhole_v1_ListPendingResponse__Output } from '../../pinhole/v1/ListPendingResponse.js';
import type { OpenResponse as _pinhole_v1_OpenResponse, OpenResponse__Output as _pinhole_v1_OpenResponse__Output } from '../../pinhole/v1/OpenResponse.js';
import type { ReloadPolicyRequest as _pinhole_v1_ReloadPolicyRequest, ReloadPolicyRequest__Output as _pinhole_v1_ReloadPolicyRequest__Output } from '../../pinhole/v1/ReloadPolicyRequest.js';
import type { ReloadPolicyResponse as _pinhole_v1_ReloadPolicyResponse, ReloadPolicyResponse__Output as _pinhole_v1_ReloadPolicyResponse__Output } from '../../pinhole/v1/ReloadPolicyResponse.js';
import type { RevokeRequest as _pinhole_v1_RevokeRequest, RevokeRequest__Output as _pinhole_v1_RevokeRequest__Output } from '../../pinhole/v1/RevokeRequest.js';
import type { VerifyAuditRequest as _pinhole_v1_VerifyAuditRequest, VerifyAuditRequest__Output as _pinhole_v1_VerifyAuditRequest__Output } from '../../pinhole/v1/VerifyAuditRequest.js';
import type { VerifyAuditResponse as _pinhole_v1_VerifyAuditResponse, VerifyAuditResponse__Output as _pinhole_v1_VerifyAuditResponse__Output } from '../../pinhole/v1/VerifyAuditResponse.js';

export interface AdminClient extends grpc.Client {
  Approve(argument: _pinhole_v1_ApproveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Approve(argument: _pinhole_v1_ApproveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Approve(argument: _pinhole_v1_ApproveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Approve(argument: _pinhole_v1_ApproveRequest, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  approve(argument: _pinhole_v1_ApproveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  approve(argument: _pinhole_v1_ApproveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  approve(argument: _pinhole_v1_ApproveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  approve(argument: _pinhole_v1_ApproveRequest, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  
  Deny(argument: _pinhole_v1_DenyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Deny(argument: _pinhole_v1_DenyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Deny(argument: _pinhole_v1_DenyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Deny(argument: _pinhole_v1_DenyRequest, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  deny(argument: _pinhole_v1_DenyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  deny(argument: _pinhole_v1_DenyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  deny(argument: _pinhole_v1_DenyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  deny(argument: _pinhole_v1_DenyRequest, callback: grpc.requestCallback<_pinhole_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * What would policy decide? No side effects.
   */
  Explain(argument: _pinhole_v1_ExplainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_Decision__Output>): grpc.ClientUnaryCall;
  Explain(argument: _pinhole_v1_ExplainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_Decision__Output>): grpc.ClientUnaryCall;
  Explain(argument: _pinhole_v1_ExplainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_Decision__Output>): grpc.ClientUnaryCall;
  Explain(argument: _pinhole_v1_ExplainRequest, callback: grpc.requestCallback<_pinhole_v1_Decision__Output>): grpc.ClientUnaryCall;
  /**
   * What would policy decide? No side effects.
   */
  explain(argument: _pinhole_v1_ExplainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_Decision__Output>): grpc.ClientUnaryCall;
  explain(argument: _pinhole_v1_ExplainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_Decision__Output>): grpc.ClientUnaryCall;
  explain(argument: _pinhole_v1_ExplainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_Decision__Output>): grpc.ClientUnaryCall;
  explain(argument: _pinhole_v1_ExplainRequest, callback: grpc.requestCallback<_pinhole_v1_Decision__Output>): grpc.ClientUnaryCall;
  
  ListEnforcers(argument: _pinhole_v1_ListEnforcersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListEnforcersResponse__Output>): grpc.ClientUnaryCall;
  ListEnforcers(argument: _pinhole_v1_ListEnforcersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ListEnforcersResponse__Output>): grpc.ClientUnaryCall;
  ListEnforcers(argument: _pinhole_v1_ListEnforcersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListEnforcersResponse__Output>): grpc.ClientUnaryCall;
  ListEnforcers(argument: _pinhole_v1_ListEnforcersRequest, callback: grpc.requestCallback<_pinhole_v1_ListEnforcersResponse__Output>): grpc.ClientUnaryCall;
  listEnforcers(argument: _pinhole_v1_ListEnforcersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListEnforcersResponse__Output>): grpc.ClientUnaryCall;
  listEnforcers(argument: _pinhole_v1_ListEnforcersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ListEnforcersResponse__Output>): grpc.ClientUnaryCall;
  listEnforcers(argument: _pinhole_v1_ListEnforcersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListEnforcersResponse__Output>): grpc.ClientUnaryCall;
  listEnforcers(argument: _pinhole_v1_ListEnforcersRequest, callback: grpc.requestCallback<_pinhole_v1_ListEnforcersResponse__Output>): grpc.ClientUnaryCall;
  
  ListLeases(argument: _pinhole_v1_ListLeasesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  ListLeases(argument: _pinhole_v1_ListLeasesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  ListLeases(argument: _pinhole_v1_ListLeasesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  ListLeases(argument: _pinhole_v1_ListLeasesRequest, callback: grpc.requestCallback<_pinhole_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  listLeases(argument: _pinhole_v1_ListLeasesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  listLeases(argument: _pinhole_v1_ListLeasesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  listLeases(argument: _pinhole_v1_ListLeasesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  listLeases(argument: _pinhole_v1_ListLeasesRequest, callback: grpc.requestCallback<_pinhole_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  
  ListPending(argument: _pinhole_v1_ListPendingRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListPendingResponse__Output>): grpc.ClientUnaryCall;
  ListPending(argument: _pinhole_v1_ListPendingRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ListPendingResponse__Output>): grpc.ClientUnaryCall;
  ListPending(argument: _pinhole_v1_ListPendingRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListPendingResponse__Output>): grpc.ClientUnaryCall;
  ListPending(argument: _pinhole_v1_ListPendingRequest, callback: grpc.requestCallback<_pinhole_v1_ListPendingResponse__Output>): grpc.ClientUnaryCall;
  listPending(argument: _pinhole_v1_ListPendingRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListPendingResponse__Output>): grpc.ClientUnaryCall;
  listPending(argument: _pinhole_v1_ListPendingRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ListPendingResponse__Output>): grpc.ClientUnaryCall;
  listPending(argument: _pinhole_v1_ListPendingRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ListPendingResponse__Output>): grpc.ClientUnaryCall;
  listPending(argument: _pinhole_v1_ListPendingRequest, callback: grpc.requestCallback<_pinhole_v1_ListPendingResponse__Output>): grpc.ClientUnaryCall;
  
  QueryAudit(argument: _pinhole_v1_AuditQuery, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_AuditRecord__Output>;
  QueryAudit(argument: _pinhole_v1_AuditQuery, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_AuditRecord__Output>;
  queryAudit(argument: _pinhole_v1_AuditQuery, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_AuditRecord__Output>;
  queryAudit(argument: _pinhole_v1_AuditQuery, options?: grpc.CallOptions): grpc.ClientReadableStream<_pinhole_v1_AuditRecord__Output>;
  
  ReloadPolicy(argument: _pinhole_v1_ReloadPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReloadPolicyResponse__Output>): grpc.ClientUnaryCall;
  ReloadPolicy(argument: _pinhole_v1_ReloadPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ReloadPolicyResponse__Output>): grpc.ClientUnaryCall;
  ReloadPolicy(argument: _pinhole_v1_ReloadPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReloadPolicyResponse__Output>): grpc.ClientUnaryCall;
  ReloadPolicy(argument: _pinhole_v1_ReloadPolicyRequest, callback: grpc.requestCallback<_pinhole_v1_ReloadPolicyResponse__Output>): grpc.ClientUnaryCall;
  reloadPolicy(argument: _pinhole_v1_ReloadPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReloadPolicyResponse__Output>): grpc.ClientUnaryCall;
  reloadPolicy(argument: _pinhole_v1_ReloadPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_ReloadPolicyResponse__Output>): grpc.ClientUnaryCall;
  reloadPolicy(argument: _pinhole_v1_ReloadPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_ReloadPolicyResponse__Output>): grpc.ClientUnaryCall;
  reloadPolicy(argument: _pinhole_v1_ReloadPolicyRequest, callback: grpc.requestCallback<_pinhole_v1_ReloadPolicyResponse__Output>): grpc.ClientUnaryCall;
  
  Revoke(argument: _pinhole_v1_RevokeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_Lease__Output>): grpc.ClientUnaryCall;
  Revoke(argument: _pinhole_v1_RevokeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_Lease__Output>): grpc.ClientUnaryCall;
  Revoke(argument: _pinhole_v1_RevokeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_Lease__Output>): grpc.ClientUnaryCall;
  Revoke(argument: _pinhole_v1_RevokeRequest, callback: grpc.requestCallback<_pinhole_v1_Lease__Output>): grpc.ClientUnaryCall;
  revoke(argument: _pinhole_v1_RevokeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_Lease__Output>): grpc.ClientUnaryCall;
  revoke(argument: _pinhole_v1_RevokeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_Lease__Output>): grpc.ClientUnaryCall;
  revoke(argument: _pinhole_v1_RevokeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_Lease__Output>): grpc.ClientUnaryCall;
  revoke(argument: _pinhole_v1_RevokeRequest, callback: grpc.requestCallback<_pinhole_v1_Lease__Output>): grpc.ClientUnaryCall;
  
  VerifyAudit(argument: _pinhole_v1_VerifyAuditRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_VerifyAuditResponse__Output>): grpc.ClientUnaryCall;
  VerifyAudit(argument: _pinhole_v1_VerifyAuditRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_VerifyAuditResponse__Output>): grpc.ClientUnaryCall;
  VerifyAudit(argument: _pinhole_v1_VerifyAuditRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_VerifyAuditResponse__Output>): grpc.ClientUnaryCall;
  VerifyAudit(argument: _pinhole_v1_VerifyAuditRequest, callback: grpc.requestCallback<_pinhole_v1_VerifyAuditResponse__Output>): grpc.ClientUnaryCall;
  verifyAudit(argument: _pinhole_v1_VerifyAuditRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_VerifyAuditResponse__Output>): grpc.ClientUnaryCall;
  verifyAudit(argument: _pinhole_v1_VerifyAuditRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pinhole_v1_VerifyAuditResponse__Output>): grpc.ClientUnaryCall;
  verifyAudit(argument: _pinhole_v1_VerifyAuditRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pinhole_v1_VerifyAuditResponse__Output>): grpc.ClientUnaryCall;
  verifyAudit(argument: _pinhole_v1_VerifyAuditRequest, callback: grpc.requestCallback<_pinhole_v1_VerifyAuditResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface AdminHandlers extends grpc.UntypedServiceImplementation {
  Approve: grpc.handleUnaryCall<_pinhole_v1_ApproveRequest__Output, _pinhole_v1_OpenResponse>;
  
  Deny: grpc.handleUnaryCall<_pinhole_v1_DenyRequest__Output, _pinhole_v1_OpenResponse>;
  
  /**
   * What would policy decide? No side effects.
   */
  Explain: grpc.handleUnaryCall<_pinhole_v1_ExplainRequest__Output, _pinhole_v1_Decision>;
  
  ListEnforcers: grpc.handleUnaryCall<_pinhole_v1_ListEnforcersRequest__Output, _pinhole_v1_ListEnforcersResponse>;
  
  ListLeases: grpc.handleUnaryCall<_pinhole_v1_ListLeasesRequest__Output, _pinhole_v1_ListLeasesResponse>;
  
  ListPending: grpc.handleUnaryCall<_pinhole_v1_ListPendingRequest__Output, _pinhole_v1_ListPendingResponse>;
  
  QueryAudit: grpc.handleServerStreamingCall<_pinhole_v1_AuditQuery__Output, _pinhole_v1_AuditRecord>;
  
  ReloadPolicy: grpc.handleUnaryCall<_pinhole_v1_ReloadPolicyRequest__Output, _pinhole_v1_ReloadPolicyResponse>;
  
  Revoke: grpc.handleUnaryCall<_pinhole_v1_RevokeRequest__Output, _pinhole_v1_Lease>;
  
  VerifyAudit: grpc.handleUnaryCall<_pinhole_v1_VerifyAuditRequest__Output, _pinhole_v1_VerifyAuditResponse>;
  
}

export interface AdminDefinition extends grpc.ServiceDefinition {
  Approve: MethodDefinition<_pinhole_v1_ApproveRequest, _pinhole_v1_OpenResponse, _pinhole_v1_ApproveRequest__Output, _pinhole_v1_OpenResponse__Output>
  Deny: MethodDefinition<_pinhole_v1_DenyRequest, _pinhole_v1_OpenResponse, _pinhole_v1_DenyRequest__Output, _pinhole_v1_OpenResponse__Output>
  Explain: MethodDefinition<_pinhole_v1_ExplainRequest, _pinhole_v1_Decision, _pinhole_v1_ExplainRequest__Output, _pinhole_v1_Decision__Output>
  ListEnforcers: MethodDefinition<_pinhole_v1_ListEnforcersRequest, _pinhole_v1_ListEnforcersResponse, _pinhole_v1_ListEnforcersRequest__Output, _pinhole_v1_ListEnforcersResponse__Output>
  ListLeases: MethodDefinition<_pinhole_v1_ListLeasesRequest, _pinhole_v1_ListLeasesResponse, _pinhole_v1_ListLeasesRequest__Output, _pinhole_v1_ListLeasesResponse__Output>
  ListPending: MethodDefinition<_pinhole_v1_ListPendingRequest, _pinhole_v1_ListPendingResponse, _pinhole_v1_ListPendingRequest__Output, _pinhole_v1_ListPendingResponse__Output>
  QueryAudit: MethodDefinition<_pinhole_v1_AuditQuery, _pinhole_v1_AuditRecord, _pinhole_v1_AuditQuery__Output, _pinhole_v1_AuditRecord__Output>
  ReloadPolicy: MethodDefinition<_pinhole_v1_ReloadPolicyRequest, _pinhole_v1_ReloadPolicyResponse, _pinhole_v1_ReloadPolicyRequest__Output, _pinhole_v1_ReloadPolicyResponse__Output>
  Revoke: MethodDefinition<_pinhole_v1_RevokeRequest, _pinhole_v1_Lease, _pinhole_v1_RevokeRequest__Output, _pinhole_v1_Lease__Output>
  VerifyAudit: MethodDefinition<_pinhole_v1_VerifyAuditRequest, _pinhole_v1_VerifyAuditResponse, _pinhole_v1_VerifyAuditRequest__Output, _pinhole_v1_VerifyAuditResponse__Output>
}
