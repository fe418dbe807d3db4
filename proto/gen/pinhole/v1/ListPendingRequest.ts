// Original file: proto/pinhole/v1/admin.proto


export interface ListPendingRequest {
}

export interface ListPendingRequest__Output {
}
