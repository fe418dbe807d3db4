// Original file: proto/pinhole/v1/opening.proto


export interface ListMineRequest {
}

export interface ListMineRequest__Output {
}
