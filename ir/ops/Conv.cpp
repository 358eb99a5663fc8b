//===- Conv.cpp - Conv ops: type inference and reference semantics ---===//
#include "ir/ops/OpSupport.h"

namespace tcpu {

absl::Status inferConv2d(InferContext &ctx) {
  return absl::UnimplementedError("inferConv2d");
}

absl::Status inferPool2d(InferContext &ctx) {
  return absl::UnimplementedError("inferPool2d");
}

absl::Status inferGlobalAvgPool(InferContext &ctx) {
  return absl::UnimplementedError("inferGlobalAvgPool");
}

absl::StatusOr<std::vector<Tensor>> evalConv2d(const EvalContext &ctx) {
  return absl::UnimplementedError("evalConv2d");
}

absl::StatusOr<std::vector<Tensor>> evalMaxPool2d(const EvalContext &ctx) {
  return absl::UnimplementedError("evalMaxPool2d");
}

absl::StatusOr<std::vector<Tensor>> evalAvgPool2d(const EvalContext &ctx) {
  return absl::UnimplementedError("evalAvgPool2d");
}

absl::StatusOr<std::vector<Tensor>> evalGlobalAvgPool(const EvalContext &ctx) {
  return absl::UnimplementedError("evalGlobalAvgPool");
}

} // namespace tcpu
