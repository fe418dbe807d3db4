import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ConcreteRule as _pinhole_v1_ConcreteRule, ConcreteRule__Output as _pinhole_v1_ConcreteRule__Output } from './pinhole/v1/ConcreteRule.js';
import type { Decision as _pinhole_v1_Decision, Decision__Output as _pinhole_v1_Decision__Output } from './pinhole/v1/Decision.js';
import type { Lease as _pinhole_v1_Lease, Lease__Output as _pinhole_v1_Lease__Output } from './pinhole/v1/Lease.js';
import type { ListMineRequest as _pinhole_v1_ListMineRequest, ListMineRequest__Output as _pinhole_v1_ListMineRequest__Output } from './pinhole/v1/ListMineRequest.js';
import type { ListMineResponse as _pinhole_v1_ListMineResponse, ListMineResponse__Output as _pinhole_v1_ListMineResponse__Output } from './pinhole/v1/ListMineResponse.js';
import type { Narrowing as _pinhole_v1_Narrowing, Narrowing__Output as _pinhole_v1_Narrowing__Output } from './pinhole/v1/Narrowing.js';
import type { OpenRequest as _pinhole_v1_OpenRequest, OpenRequest__Output as _pinhole_v1_OpenRequest__Output } from './pinhole/v1/OpenRequest.js';
import type { OpenResponse as _pinhole_v1_OpenResponse, OpenResponse__Output as _pinhole_v1_OpenResponse__Output } from './pinhole/v1/OpenResponse.js';
import type { OpeningClient as _pinhole_v1_OpeningClient, OpeningDefinition as _pinhole_v1_OpeningDefinition } from './pinhole/v1/Opening.js';
import type { OpeningDecision as _pinhole_v1_OpeningDecision, OpeningDecision__Output as _pinhole_v1_OpeningDecision__Output } from './pinhole/v1/OpeningDecision.js';
import type { OpeningSpec as _pinhole_v1_OpeningSpec, OpeningSpec__Output as _pinhole_v1_OpeningSpec__Output } from './pinhole/v1/OpeningSpec.js';
import type { PortRange as _pinhole_v1_PortRange, PortRange__Output as _pinhole_v1_PortRange__Output } from './pinhole/v1/PortRange.js';
import type { ReleaseRequest as _pinhole_v1_ReleaseRequest, ReleaseRequest__Output as _pinhole_v1_ReleaseRequest__Output } from './pinhole/v1/ReleaseRequest.js';
import type { ReleaseResponse as _pinhole_v1_ReleaseResponse, ReleaseResponse__Output as _pinhole_v1_ReleaseResponse__Output } from './pinhole/v1/ReleaseResponse.js';
import type { RenewRequest as _pinhole_v1_RenewRequest, RenewRequest__Output as _pinhole_v1_RenewRequest__Output } from './pinhole/v1/RenewRequest.js';
import type { RenewResponse as _pinhole_v1_RenewResponse, RenewResponse__Output as _pinhole_v1_RenewResponse__Output } from './pinhole/v1/RenewResponse.js';
import type { Source as _pinhole_v1_Source, Source__Output as _pinhole_v1_Source__Output } from './pinhole/v1/Source.js';
import type { WaitDecisionEvent as _pinhole_v1_WaitDecisionEvent, WaitDecisionEvent__Output as _pinhole_v1_WaitDecisionEvent__Output } from './pinhole/v1/WaitDecisionEvent.js';
import type { WaitDecisionRequest as _pinhole_v1_WaitDecisionRequest, WaitDecisionRequest__Output as _pinhole_v1_WaitDecisionRequest__Output } from './pinhole/v1/WaitDecisionRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  pinhole: {
    v1: {
      ConcreteRule: MessageTypeDefinition<_pinhole_v1_ConcreteRule, _pinhole_v1_ConcreteRule__Output>
      Decision: MessageTypeDefinition<_pinhole_v1_Decision, _pinhole_v1_Decision__Output>
      EndReason: EnumTypeDefinition
      Lease: MessageTypeDefinition<_pinhole_v1_Lease, _pinhole_v1_Lease__Output>
      LeaseState: EnumTypeDefinition
      ListMineRequest: MessageTypeDefinition<_pinhole_v1_ListMineRequest, _pinhole_v1_ListMineRequest__Output>
      ListMineResponse: MessageTypeDefinition<_pinhole_v1_ListMineResponse, _pinhole_v1_ListMineResponse__Output>
      Narrowing: MessageTypeDefinition<_pinhole_v1_Narrowing, _pinhole_v1_Narrowing__Output>
      OpenRequest: MessageTypeDefinition<_pinhole_v1_OpenRequest, _pinhole_v1_OpenRequest__Output>
      OpenResponse: MessageTypeDefinition<_pinhole_v1_OpenResponse, _pinhole_v1_OpenResponse__Output>
      Opening: SubtypeConstructor<typeof grpc.Client, _pinhole_v1_OpeningClient> & { service: _pinhole_v1_OpeningDefinition }
      OpeningDecision: MessageTypeDefinition<_pinhole_v1_OpeningDecision, _pinhole_v1_OpeningDecision__Output>
      OpeningSpec: MessageTypeDefinition<_pinhole_v1_OpeningSpec, _pinhole_v1_OpeningSpec__Output>
      Outcome: EnumTypeDefinition
      PortRange: MessageTypeDefinition<_pinhole_v1_PortRange, _pinhole_v1_PortRange__Output>
      Protocol: EnumTypeDefinition
      ReleaseRequest: MessageTypeDefinition<_pinhole_v1_ReleaseRequest, _pinhole_v1_ReleaseRequest__Output>
      ReleaseResponse: MessageTypeDefinition<_pinhole_v1_ReleaseResponse, _pinhole_v1_ReleaseResponse__Output>
      RenewRequest: MessageTypeDefinition<_pinhole_v1_RenewRequest, _pinhole_v1_RenewRequest__Output>
      RenewResponse: MessageTypeDefinition<_pinhole_v1_RenewResponse, _pinhole_v1_RenewResponse__Output>
      Source: MessageTypeDefinition<_pinhole_v1_Source, _pinhole_v1_Source__Output>
      WaitDecisionEvent: MessageTypeDefinition<_pinhole_v1_WaitDecisionEvent, _pinhole_v1_WaitDecisionEvent__Output>
      WaitDecisionRequest: MessageTypeDefinition<_pinhole_v1_WaitDecisionRequest, _pinhole_v1_WaitDecisionRequest__Output>
    }
  }
}

