//===- Normalization.cpp - Normalization ops: type inference and reference semantics ---===//
#include "ir/ops/OpSupport.h"

namespace tcpu {

absl::Status inferBatchNorm(InferContext &ctx) {
  return absl::UnimplementedError("inferBatchNorm");
}

absl::Status inferLayerNorm(InferContext &ctx) {
  return absl::UnimplementedError("inferLayerNorm");
}

absl::Status inferSoftmax(InferContext &ctx) {
  return absl::UnimplementedError("inferSoftmax");
}

absl::StatusOr<std::vector<Tensor>> evalBatchNorm(const EvalContext &ctx) {
  return absl::UnimplementedError("evalBatchNorm");
}

absl::StatusOr<std::vector<Tensor>> evalLayerNorm(const EvalContext &ctx) {
  return absl::UnimplementedError("evalLayerNorm");
}

absl::StatusOr<std::vector<Tensor>> evalSoftmax(const EvalContext &ctx) {
  return absl::UnimplementedError("evalSoftmax");
}

absl::StatusOr<std::vector<Tensor>> evalLogSoftmax(const EvalContext &ctx) {
  return absl::UnimplementedError("evalLogSoftmax");
}

} // namespace tcpu
