// Original file: proto/pinhole/v1/admin.proto


export interface VerifyAuditRequest {
}

export interface VerifyAuditRequest__Output {
}
