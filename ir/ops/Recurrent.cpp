//===- Recurrent.cpp - Recurrent ops: type inference and reference semantics ---===//
#include "ir/ops/OpSupport.h"

namespace tcpu {

absl::Status inferLstm(InferContext &ctx) {
  return absl::UnimplementedError("inferLstm");
}

absl::Status inferGru(InferContext &ctx) {
  return absl::UnimplementedError("inferGru");
}

absl::Status inferRnn(InferContext &ctx) {
  return absl::UnimplementedError("inferRnn");
}

absl::StatusOr<std::vector<Tensor>> evalLstm(const EvalContext &ctx) {
  return absl::UnimplementedError("evalLstm");
}

absl::StatusOr<std::vector<Tensor>> evalGru(const EvalContext &ctx) {
  return absl::UnimplementedError("evalGru");
}

absl::StatusOr<std::vector<Tensor>> evalRnn(const EvalContext &ctx) {
  return absl::UnimplementedError("evalRnn");
}

} // namespace tcpu
