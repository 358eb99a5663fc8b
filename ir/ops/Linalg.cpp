//===- Linalg.cpp - Linalg ops: type inference and reference semantics ---===//
#include "ir/ops/OpSupport.h"

namespace tcpu {

absl::Status inferMatmul(InferContext &ctx) {
  return absl::UnimplementedError("inferMatmul");
}

absl::Status inferGemm(InferContext &ctx) {
  return absl::UnimplementedError("inferGemm");
}

absl::Status inferLinear(InferContext &ctx) {
  return absl::UnimplementedError("inferLinear");
}

absl::StatusOr<std::vector<Tensor>> evalMatmul(const EvalContext &ctx) {
  return absl::UnimplementedError("evalMatmul");
}

absl::StatusOr<std::vector<Tensor>> evalGemm(const EvalContext &ctx) {
  return absl::UnimplementedError("evalGemm");
}

absl::StatusOr<std::vector<Tensor>> evalLinear(const EvalContext &ctx) {
  return absl::UnimplementedError("evalLinear");
}

} // namespace tcpu
