// Original file: proto/pinhole/v1/admin.proto


export interface ListEnforcersRequest {
}

export interface ListEnforcersRequest__Output {
}
