// Original file: proto/pinhole/v1/admin.proto


export interface ReloadPolicyRequest {
}

export interface ReloadPolicyRequest__Output {
}
