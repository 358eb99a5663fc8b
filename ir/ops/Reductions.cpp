//===- Reductions.cpp - Reductions ops: type inference and reference semantics ---===//
#include "ir/ops/OpSupport.h"

namespace tcpu {

absl::Status inferReduce(InferContext &ctx) {
  return absl::UnimplementedError("inferReduce");
}

absl::Status inferArgmax(InferContext &ctx) {
  return absl::UnimplementedError("inferArgmax");
}

absl::StatusOr<std::vector<Tensor>> evalReduceSum(const EvalContext &ctx) {
  return absl::UnimplementedError("evalReduceSum");
}

absl::StatusOr<std::vector<Tensor>> evalReduceMean(const EvalContext &ctx) {
  return absl::UnimplementedError("evalReduceMean");
}

absl::StatusOr<std::vector<Tensor>> evalReduceMax(const EvalContext &ctx) {
  return absl::UnimplementedError("evalReduceMax");
}

absl::StatusOr<std::vector<Tensor>> evalReduceMin(const EvalContext &ctx) {
  return absl::UnimplementedError("evalReduceMin");
}

absl::StatusOr<std::vector<Tensor>> evalReduceProd(const EvalContext &ctx) {
  return absl::UnimplementedError("evalReduceProd");
}

absl::StatusOr<std::vector<Tensor>> evalArgmax(const EvalContext &ctx) {
  return absl::UnimplementedError("evalArgmax");
}

} // namespace tcpu
