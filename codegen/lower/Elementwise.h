//===- Elementwise.h - One elementwise op on values in registers -*- C++ -*-===//
//
// The per-op vector code of lower/Elementwise.cpp, for kernels that evaluate
// several elementwise ops in one loop (fused bodies, GEMM epilogues): the
// same computation an op's own kernel does on each vector, with its
// numerics, emitted at the builder's position on values the caller loaded.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Lowering.h"

#include "absl/status/statusor.h"

#include <functional>
#include <vector>

namespace tcpu {

/// How elementwise op `op` holds its values. In memory, operand k has LLVM
/// element type operandTypes[k] and the result resultType. In registers a
/// value is in that form too, except that the ones whose dtype (dtypes[k],
/// then the result's) is f16 or bf16 are f32 (see lowp::widen and
/// lowp::narrow); when dtypes is empty, nothing is widened.
struct ElementwiseSignature {
  std::vector<llvm::Type *> operandTypes;
  llvm::Type *resultType = nullptr;
  std::vector<DType> dtypes;
};

/// The signature of `op`, or Unimplemented when its lowering does not
/// handle its dtypes. `op` need not be the op `ctx` lowers (it may be an op
/// of a fused body); nothing is emitted.
absl::StatusOr<ElementwiseSignature> elementwiseSignature(const Op &op,
                                                          LoweringContext &ctx);

/// Emits `op` on `args` (one per operand: all scalars, or all vectors of one
/// lane count, in register form) at the builder's position and returns its
/// result in register form. Ops that can fail (integer div by zero) emit
/// ctx.failIf checks. Unimplemented as elementwiseSignature.
absl::StatusOr<llvm::Value *> emitElementwiseOp(const Op &op,
                                                LoweringContext &ctx,
                                                llvm::ArrayRef<llvm::Value *> args);

/// The loop nest of ctx.op() (a fused op): one loop over its result 0 that
/// loads operand k as element type operandTypes[k], with NumPy
/// broadcasting, and stores what `compute` returns as resultType; vectors
/// of the target's width with a scalar remainder. `compute` gets and returns
/// values in memory form (nothing is widened). Large nests run on the
/// model's threads, so `compute` may be emitted into an outlined function
/// (LoweringContext::emitParallelFor): it must build on its arguments,
/// constants and ctx only, never on values emitted before the loop; its
/// failIf checks work there.
void emitElementwiseLoop(
    LoweringContext &ctx, const std::vector<llvm::Type *> &operandTypes,
    llvm::Type *resultType,
    const std::function<llvm::Value *(llvm::ArrayRef<llvm::Value *>)> &compute);

} // namespace tcpu
