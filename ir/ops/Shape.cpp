//===- Shape.cpp - Shape ops: type inference and reference semantics ---===//
#include "ir/ops/OpSupport.h"

namespace tcpu {

absl::Status inferReshape(InferContext &ctx) {
  return absl::UnimplementedError("inferReshape");
}

absl::Status inferTranspose(InferContext &ctx) {
  return absl::UnimplementedError("inferTranspose");
}

absl::Status inferConcat(InferContext &ctx) {
  return absl::UnimplementedError("inferConcat");
}

absl::Status inferSlice(InferContext &ctx) {
  return absl::UnimplementedError("inferSlice");
}

absl::Status inferGather(InferContext &ctx) {
  return absl::UnimplementedError("inferGather");
}

absl::Status inferExpand(InferContext &ctx) {
  return absl::UnimplementedError("inferExpand");
}

absl::Status inferPad(InferContext &ctx) {
  return absl::UnimplementedError("inferPad");
}

absl::Status inferSqueeze(InferContext &ctx) {
  return absl::UnimplementedError("inferSqueeze");
}

absl::Status inferUnsqueeze(InferContext &ctx) {
  return absl::UnimplementedError("inferUnsqueeze");
}

absl::Status inferFlatten(InferContext &ctx) {
  return absl::UnimplementedError("inferFlatten");
}

absl::StatusOr<std::vector<Tensor>> evalReshape(const EvalContext &ctx) {
  return absl::UnimplementedError("evalReshape");
}

absl::StatusOr<std::vector<Tensor>> evalTranspose(const EvalContext &ctx) {
  return absl::UnimplementedError("evalTranspose");
}

absl::StatusOr<std::vector<Tensor>> evalConcat(const EvalContext &ctx) {
  return absl::UnimplementedError("evalConcat");
}

absl::StatusOr<std::vector<Tensor>> evalSlice(const EvalContext &ctx) {
  return absl::UnimplementedError("evalSlice");
}

absl::StatusOr<std::vector<Tensor>> evalGather(const EvalContext &ctx) {
  return absl::UnimplementedError("evalGather");
}

absl::StatusOr<std::vector<Tensor>> evalExpand(const EvalContext &ctx) {
  return absl::UnimplementedError("evalExpand");
}

absl::StatusOr<std::vector<Tensor>> evalPad(const EvalContext &ctx) {
  return absl::UnimplementedError("evalPad");
}

absl::StatusOr<std::vector<Tensor>> evalSqueeze(const EvalContext &ctx) {
  return absl::UnimplementedError("evalSqueeze");
}

absl::StatusOr<std::vector<Tensor>> evalUnsqueeze(const EvalContext &ctx) {
  return absl::UnimplementedError("evalUnsqueeze");
}

absl::StatusOr<std::vector<Tensor>> evalFlatten(const EvalContext &ctx) {
  return absl::UnimplementedError("evalFlatten");
}

} // namespace tcpu
