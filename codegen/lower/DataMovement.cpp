//===- DataMovement.cpp - Lowering of ops that only move bytes -------------===//
//
// reshape, squeeze, unsqueeze and flatten keep the row-major bytes: a copy.
// (A later memory-planning step can alias them instead.) Constants are bound
// by the engine to their data and never become kernels.
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"

namespace tcpu {

namespace {
absl::Status lowerCopy(const Op &op, LoweringContext &ctx) {
  int64_t bytes = op.result(0)->type.byteSize();
  if (bytes > 0)
    ctx.b().CreateMemCpy(ctx.resultPtr(0), llvm::MaybeAlign(1), ctx.operandPtr(0),
                         llvm::MaybeAlign(1), bytes);
  ctx.finish();
  return absl::OkStatus();
}
} // namespace

absl::Status lowerConstant(const Op &op, LoweringContext &) {
  return absl::InternalError("constants are bound by the engine, not lowered");
}
absl::Status lowerReshape(const Op &op, LoweringContext &ctx) { return lowerCopy(op, ctx); }
absl::Status lowerSqueeze(const Op &op, LoweringContext &ctx) { return lowerCopy(op, ctx); }
absl::Status lowerUnsqueeze(const Op &op, LoweringContext &ctx) { return lowerCopy(op, ctx); }
absl::Status lowerFlatten(const Op &op, LoweringContext &ctx) { return lowerCopy(op, ctx); }

} // namespace tcpu
