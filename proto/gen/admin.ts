import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AdminClient as _pinhole_v1_AdminClient, AdminDefinition as _pinhole_v1_AdminDefinition } from './pinhole/v1/Admin.js';
import type { ApproveRequest as _pinhole_v1_ApproveRequest, ApproveRequest__Output as _pinhole_v1_ApproveRequest__Output } from './pinhole/v1/ApproveRequest.js';
import type { AuditQuery as _pinhole_v1_AuditQuery, AuditQuery__Output as _pinhole_v1_AuditQuery__Output } from './pinhole/v1/AuditQuery.js';
import type { AuditRecord as _pinhole_v1_AuditRecord, AuditRecord__Output as _pinhole_v1_AuditRecord__Output } from './pinhole/v1/AuditRecord.js';
import type { ConcreteRule as _pinhole_v1_ConcreteRule, ConcreteRule__Output as _pinhole_v1_ConcreteRule__Output } from './pinhole/v1/ConcreteRule.js';
import type { Decision as _pinhole_v1_Decision, Decision__Output as _pinhole_v1_Decision__Output } from './pinhole/v1/Decision.js';
import type { DenyRequest as _pinhole_v1_DenyRequest, DenyRequest__Output as _pinhole_v1_DenyRequest__Output } from './pinhole/v1/DenyRequest.js';
import type { EnforcerInfo as _pinhole_v1_EnforcerInfo, EnforcerInfo__Output as _pinhole_v1_EnforcerInfo__Output } from './pinhole/v1/EnforcerInfo.js';
import type { ExplainRequest as _pinhole_v1_ExplainRequest, ExplainRequest__Output as _pinhole_v1_ExplainRequest__Output } from './pinhole/v1/ExplainRequest.js';
import type { Lease as _pinhole_v1_Lease, Lease__Output as _pinhole_v1_Lease__Output } from './pinhole/v1/Lease.js';
import type { LeaseUsage as _pinhole_v1_LeaseUsage, LeaseUsage__Output as _pinhole_v1_LeaseUsage__Output } from './pinhole/v1/LeaseUsage.js';
import type { ListEnforcersRequest as _pinhole_v1_ListEnforcersRequest, ListEnforcersRequest__Output as _pinhole_v1_ListEnforcersRequest__Output } from './pinhole/v1/ListEnforcersRequest.js';
import type { ListEnforcersResponse as _pinhole_v1_ListEnforcersResponse, ListEnforcersResponse__Output as _pinhole_v1_ListEnforcersResponse__Output } from './pinhole/v1/ListEnforcersResponse.js';
import type { ListLeasesRequest as _pinhole_v1_ListLeasesRequest, ListLeasesRequest__Output as _pinhole_v1_ListLeasesRequest__Output } from './pinhole/v1/ListLeasesRequest.js';
import type { ListLeasesResponse as _pinhole_v1_ListLeasesResponse, ListLeasesResponse__Output as _pinhole_v1_ListLeasesResponse__Output } from './pinhole/v1/ListLeasesResponse.js';
import type { ListMineRequest as _pinhole_v1_ListMineRequest, ListMineRequest__Output as _pinhole_v1_ListMineRequest__Output } from './pinhole/v1/ListMineRequest.js';
import type { ListMineResponse as _pinhole_v1_ListMineResponse, ListMineResponse__Output as _pinhole_v1_ListMineResponse__Output } from './pinhole/v1/ListMineResponse.js';
import type { ListPendingRequest as _pinhole_v1_ListPendingRequest, ListPendingRequest__Output as _pinhole_v1_ListPendingRequest__Output } from './pinhole/v1/ListPendingRequest.js';
import type { ListPendingResponse as _pinhole_v1_ListPendingResponse, ListPendingResponse__Output as _pinhole_v1_ListPendingResponse__Output } from './pinhole/v1/ListPendingResponse.js';
import type { Narrowing as _pinhole_v1_Narrowing, Narrowing__Output as _pinhole_v1_Narrowing__Output } from './pinhole/v1/Narrowing.js';
import type { OpenRequest as _pinhole_v1_OpenRequest, OpenRequest__Output as _pinhole_v1_OpenRequest__Output } from './pinhole/v1/OpenRequest.js';
import type { OpenResponse as _pinhole_v1_OpenResponse, OpenResponse__Output as _pinhole_v1_OpenResponse__Output } from './pinhole/v1/OpenResponse.js';
import type { OpeningClient as _pinhole_v1_OpeningClient, OpeningDefinition as _pinhole_v1_OpeningDefinition } from './pinhole/v1/Opening.js';
import type { OpeningDecision as _pinhole_v1_OpeningDecision, OpeningDecision__Output as _pinhole_v1_OpeningDecision__Output } from './pinhole/v1/OpeningDecision.js';
import type { OpeningSpec as _pinhole_v1_OpeningSpec, OpeningSpec__Output as _pinhole_v1_OpeningSpec__Output } from './pinhole/v1/OpeningSpec.js';
import type { PendingRequest as _pinhole_v1_PendingRequest, PendingRequest__Output as _pinhole_v1_PendingRequest__Output } from './pinhole/v1/PendingRequest.js';
import type { PortRange as _pinhole_v1_PortRange, PortRange__Output as _pinhole_v1_PortRange__Output } from './pinhole/v1/PortRange.js';
import type { ReleaseRequest as _pinhole_v1_ReleaseRequest, ReleaseRequest__Output as _pinhole_v1_ReleaseRequest__Output } from './pinhole/v1/ReleaseRequest.js';
import type { ReleaseResponse as _pinhole_v1_ReleaseResponse, ReleaseResponse__Output as _pinhole_v1_ReleaseResponse__Output } from './pinhole/v1/ReleaseResponse.js';
import type { ReloadPolicyRequest as _pinhole_v1_ReloadPolicyRequest, ReloadPolicyRequest__Output as _pinhole_v1_ReloadPolicyRequest__Output } from './pinhole/v1/ReloadPolicyRequest.js';
import type { ReloadPolicyResponse as _pinhole_v1_ReloadPolicyResponse, ReloadPolicyResponse__Output as _pinhole_v1_ReloadPolicyResponse__Output } from './pinhole/v1/ReloadPolicyResponse.js';
import type { RenewRequest as _pinhole_v1_RenewRequest, RenewRequest__Output as _pinhole_v1_RenewRequest__Output } from './pinhole/v1/RenewRequest.js';
import type { RenewResponse as _pinhole_v1_RenewResponse, RenewResponse__Output as _pinhole_v1_RenewResponse__Output } from './pinhole/v1/RenewResponse.js';
import type { RevokeRequest as _pinhole_v1_RevokeRequest, RevokeRequest__Output as _pinhole_v1_RevokeRequest__Output } from './pinhole/v1/RevokeRequest.js';
import type { Source as _pinhole_v1_Source, Source__Output as _pinhole_v1_Source__Output } from './pinhole/v1/Source.js';
import type { VerifyAuditRequest as _pinhole_v1_VerifyAuditRequest, VerifyAuditRequest__Output as _pinhole_v1_VerifyAuditRequest__Output } from './pinhole/v1/VerifyAuditRequest.js';
import type { VerifyAuditResponse as _pinhole_v1_VerifyAuditResponse, VerifyAuditResponse__Output as _pinhole_v1_VerifyAuditResponse__Output } from './pinhole/v1/VerifyAuditResponse.js';
import type { WaitDecisionEvent as _pinhole_v1_WaitDecisionEvent, WaitDecisionEvent__Output as _pinhole_v1_WaitDecisionEvent__Output } from './pinhole/v1/WaitDecisionEvent.js';
import type { WaitDecisionRequest as _pinhole_v1_WaitDecisionRequest, WaitDecisionRequest__Output as _pinhole_v1_WaitDecisionRequest__Output } from './pinhole/v1/WaitDecisionRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  pinhole: {
    v1: {
      Admin: SubtypeConstructor<typeof grpc.Client, _pinhole_v1_AdminClient> & { service: _pinhole_v1_AdminDefinition }
      ApproveRequest: MessageTypeDefinition<_pinhole_v1_ApproveRequest, _pinhole_v1_ApproveRequest__Output>
      AuditQuery: MessageTypeDefinition<_pinhole_v1_AuditQuery, _pinhole_v1_AuditQuery__Output>
      AuditRecord: MessageTypeDefinition<_pinhole_v1_AuditRecord, _pinhole_v1_AuditRecord__Output>
      ConcreteRule: MessageTypeDefinition<_pinhole_v1_ConcreteRule, _pinhole_v1_ConcreteRule__Output>
      Decision: MessageTypeDefinition<_pinhole_v1_Decision, _pinhole_v1_Decision__Output>
      DenyRequest: MessageTypeDefinition<_pinhole_v1_DenyRequest, _pinhole_v1_DenyRequest__Output>
      EndReason: EnumTypeDefinition
      EnforcerInfo: MessageTypeDefinition<_pinhole_v1_EnforcerInfo, _pinhole_v1_EnforcerInfo__Output>
      ExplainRequest: MessageTypeDefinition<_pinhole_v1_ExplainRequest, _pinhole_v1_ExplainRequest__Output>
      Lease: MessageTypeDefinition<_pinhole_v1_Lease, _pinhole_v1_Lease__Output>
      LeaseState: EnumTypeDefinition
      LeaseUsage: MessageTypeDefinition<_pinhole_v1_LeaseUsage, _pinhole_v1_LeaseUsage__Output>
      ListEnforcersRequest: MessageTypeDefinition<_pinhole_v1_ListEnforcersRequest, _pinhole_v1_ListEnforcersRequest__Output>
      ListEnforcersResponse: MessageTypeDefinition<_pinhole_v1_ListEnforcersResponse, _pinhole_v1_ListEnforcersResponse__Output>
      ListLeasesRequest: MessageTypeDefinition<_pinhole_v1_ListLeasesRequest, _pinhole_v1_ListLeasesRequest__Output>
      ListLeasesResponse: MessageTypeDefinition<_pinhole_v1_ListLeasesResponse, _pinhole_v1_ListLeasesResponse__Output>
      ListMineRequest: MessageTypeDefinition<_pinhole_v1_ListMineRequest, _pinhole_v1_ListMineRequest__Output>
      ListMineResponse: MessageTypeDefinition<_pinhole_v1_ListMineResponse, _pinhole_v1_ListMineResponse__Output>
      ListPendingRequest: MessageTypeDefinition<_pinhole_v1_ListPendingRequest, _pinhole_v1_ListPendingRequest__Output>
      ListPendingResponse: MessageTypeDefinition<_pinhole_v1_ListPendingResponse, _pinhole_v1_ListPendingResponse__Output>
      Narrowing: MessageTypeDefinition<_pinhole_v1_Narrowing, _pinhole_v1_Narrowing__Output>
      OpenRequest: MessageTypeDefinition<_pinhole_v1_OpenRequest, _pinhole_v1_OpenRequest__Output>
      OpenResponse: MessageTypeDefinition<_pinhole_v1_OpenResponse, _pinhole_v1_OpenResponse__Output>
      Opening: SubtypeConstructor<typeof grpc.Client, _pinhole_v1_OpeningClient> & { service: _pinhole_v1_OpeningDefinition }
      OpeningDecision: MessageTypeDefinition<_pinhole_v1_OpeningDecision, _pinhole_v1_OpeningDecision__Output>
      OpeningSpec: MessageTypeDefinition<_pinhole_v1_OpeningSpec, _pinhole_v1_OpeningSpec__Output>
      Outcome: EnumTypeDefinition
      PendingRequest: MessageTypeDefinition<_pinhole_v1_PendingRequest, _pinhole_v1_PendingRequest__Output>
      PortRange: MessageTypeDefinition<_pinhole_v1_PortRange, _pinhole_v1_PortRange__Output>
      Protocol: EnumTypeDefinition
      ReleaseRequest: MessageTypeDefinition<_pinhole_v1_ReleaseRequest, _pinhole_v1_ReleaseRequest__Output>
      ReleaseResponse: MessageTypeDefinition<_pinhole_v1_ReleaseResponse, _pinhole_v1_ReleaseResponse__Output>
      ReloadPolicyRequest: MessageTypeDefinition<_pinhole_v1_ReloadPolicyRequest, _pinhole_v1_ReloadPolicyRequest__Output>
      ReloadPolicyResponse: MessageTypeDefinition<_pinhole_v1_ReloadPolicyResponse, _pinhole_v1_ReloadPolicyResponse__Output>
      RenewRequest: MessageTypeDefinition<_pinhole_v1_RenewRequest, _pinhole_v1_RenewRequest__Output>
      RenewResponse: MessageTypeDefinition<_pinhole_v1_RenewResponse, _pinhole_v1_RenewResponse__Output>
      RevokeRequest: MessageTypeDefinition<_pinhole_v1_RevokeRequest, _pinhole_v1_RevokeRequest__Output>
      Source: MessageTypeDefinition<_pinhole_v1_Source, _pinhole_v1_Source__Output>
      VerifyAuditRequest: MessageTypeDefinition<_pinhole_v1_VerifyAuditRequest, _pinhole_v1_VerifyAuditRequest__Output>
      VerifyAuditResponse: MessageTypeDefinition<_pinhole_v1_VerifyAuditResponse, _pinhole_v1_VerifyAuditResponse__Output>
      WaitDecisionEvent: MessageTypeDefinition<_pinhole_v1_WaitDecisionEvent, _pinhole_v1_WaitDecisionEvent__Output>
      WaitDecisionRequest: MessageTypeDefinition<_pinhole_v1_WaitDecisionRequest, _pinhole_v1_WaitDecisionRequest__Output>
    }
  }
}

