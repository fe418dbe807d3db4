import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ConcreteRule as _pinhole_v1_ConcreteRule, ConcreteRule__Output as _pinhole_v1_ConcreteRule__Output } from './pinhole/v1/ConcreteRule.js';
import type { Decision as _pinhole_v1_Decision, Decision__Output as _pinhole_v1_Decision__Output } from './pinhole/v1/Decision.js';
import type { EnforcerStatus as _pinhole_v1_EnforcerStatus, EnforcerStatus__Output as _pinhole_v1_EnforcerStatus__Output } from './pinhole/v1/EnforcerStatus.js';
import type { Lease as _pinhole_v1_Lease, Lease__Output as _pinhole_v1_Lease__Output } from './pinhole/v1/Lease.js';
import type { LeaseCounter as _pinhole_v1_LeaseCounter, LeaseCounter__Output as _pinhole_v1_LeaseCounter__Output } from './pinhole/v1/LeaseCounter.js';
import type { LeaseWatchClient as _pinhole_v1_LeaseWatchClient, LeaseWatchDefinition as _pinhole_v1_LeaseWatchDefinition } from './pinhole/v1/LeaseWatch.js';
import type { Narrowing as _pinhole_v1_Narrowing, Narrowing__Output as _pinhole_v1_Narrowing__Output } from './pinhole/v1/Narrowing.js';
import type { OpeningDecision as _pinhole_v1_OpeningDecision, OpeningDecision__Output as _pinhole_v1_OpeningDecision__Output } from './pinhole/v1/OpeningDecision.js';
import type { OpeningSpec as _pinhole_v1_OpeningSpec, OpeningSpec__Output as _pinhole_v1_OpeningSpec__Output } from './pinhole/v1/OpeningSpec.js';
import type { PortRange as _pinhole_v1_PortRange, PortRange__Output as _pinhole_v1_PortRange__Output } from './pinhole/v1/PortRange.js';
import type { ReportStatusResponse as _pinhole_v1_ReportStatusResponse, ReportStatusResponse__Output as _pinhole_v1_ReportStatusResponse__Output } from './pinhole/v1/ReportStatusResponse.js';
import type { Scope as _pinhole_v1_Scope, Scope__Output as _pinhole_v1_Scope__Output } from './pinhole/v1/Scope.js';
import type { Source as _pinhole_v1_Source, Source__Output as _pinhole_v1_Source__Output } from './pinhole/v1/Source.js';
import type { WatchEvent as _pinhole_v1_WatchEvent, WatchEvent__Output as _pinhole_v1_WatchEvent__Output } from './pinhole/v1/WatchEvent.js';
import type { WatchRequest as _pinhole_v1_WatchRequest, WatchRequest__Output as _pinhole_v1_WatchRequest__Output } from './pinhole/v1/WatchRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  pinhole: {
    v1: {
      ConcreteRule: MessageTypeDefinition<_pinhole_v1_ConcreteRule, _pinhole_v1_ConcreteRule__Output>
      Decision: MessageTypeDefinition<_pinhole_v1_Decision, _pinhole_v1_Decision__Output>
      EndReason: EnumTypeDefinition
      EnforcerStatus: MessageTypeDefinition<_pinhole_v1_EnforcerStatus, _pinhole_v1_EnforcerStatus__Output>
      EventType: EnumTypeDefinition
      Lease: MessageTypeDefinition<_pinhole_v1_Lease, _pinhole_v1_Lease__Output>
      LeaseCounter: MessageTypeDefinition<_pinhole_v1_LeaseCounter, _pinhole_v1_LeaseCounter__Output>
      LeaseState: EnumTypeDefinition
      LeaseWatch: SubtypeConstructor<typeof grpc.Client, _pinhole_v1_LeaseWatchClient> & { service: _pinhole_v1_LeaseWatchDefinition }
      Narrowing: MessageTypeDefinition<_pinhole_v1_Narrowing, _pinhole_v1_Narrowing__Output>
      OpeningDecision: MessageTypeDefinition<_pinhole_v1_OpeningDecision, _pinhole_v1_OpeningDecision__Output>
      OpeningSpec: MessageTypeDefinition<_pinhole_v1_OpeningSpec, _pinhole_v1_OpeningSpec__Output>
      Outcome: EnumTypeDefinition
      PortRange: MessageTypeDefinition<_pinhole_v1_PortRange, _pinhole_v1_PortRange__Output>
      Protocol: EnumTypeDefinition
      ReportStatusResponse: MessageTypeDefinition<_pinhole_v1_ReportStatusResponse, _pinhole_v1_ReportStatusResponse__Output>
      Scope: MessageTypeDefinition<_pinhole_v1_Scope, _pinhole_v1_Scope__Output>
      Source: MessageTypeDefinition<_pinhole_v1_Source, _pinhole_v1_Source__Output>
      WatchEvent: MessageTypeDefinition<_pinhole_v1_WatchEvent, _pinhole_v1_WatchEvent__Output>
      WatchRequest: MessageTypeDefinition<_pinhole_v1_WatchRequest, _pinhole_v1_WatchRequest__Output>
    }
  }
}

