//===- Linalg.cpp - Lowering of matmul and linear onto the GEMM generator ---===//
//
// linear (any rank of x, weight [N, K]) and 2-D matmul become a call to a
// kernel from emitGemmFunction (codegen/Gemm.h): packed panels, register
// blocking, cache blocking, threads through the runtime's C ABI; linear's
// bias is the GEMM epilogue. Batched matmul, gemm, empty shapes and other
// dtypes stay on the interpreter for now.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "codegen/Lowering.h"

namespace tcpu {

namespace {

bool allF32(const Op &op) {
  for (const Value *v : op.operands)
    if (v && v->type.dtype != DType::F32)
      return false;
  return op.result(0)->type.dtype == DType::F32;
}

absl::Status emitGemmCall(LoweringContext &ctx, const GemmShape &shape,
                          const GemmEpilogue &epilogue, bool hasBias) {
  absl::StatusOr<GemmKernel> kernel =
      emitGemmFunction(ctx.module(), ctx.target(), shape, epilogue,
                       ctx.function()->getName().str() + ".gemm");
  if (!kernel.ok())
    return kernel.status();
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Value *null = llvm::ConstantPointerNull::get(b.getPtrTy());
  b.CreateCall(kernel->function,
               {ctx.operandPtr(0), ctx.operandPtr(1), ctx.resultPtr(0),
                hasBias ? ctx.operandPtr(2) : null, null, null});
  ctx.finish();
  return absl::OkStatus();
}

} // namespace

absl::Status lowerLinear(const Op &op, LoweringContext &ctx) {
  const TensorType &x = op.operand(0)->type, &w = op.operand(1)->type;
  if (!allF32(op) || x.rank() < 1 || op.result(0)->type.numElements() == 0 ||
      x.numElements() == 0)
    return absl::UnimplementedError("'linear' is lowered for non-empty f32 only");
  GemmShape s;
  s.K = w.shape[1];
  s.N = w.shape[0];
  s.M = x.numElements() / s.K;
  s.transB = true;
  GemmEpilogue e;
  bool hasBias = op.operand(2) != nullptr;
  if (hasBias)
    e.bias = GemmEpilogue::Bias::PerColumn;
  return emitGemmCall(ctx, s, e, hasBias);
}

absl::Status lowerMatmul(const Op &op, LoweringContext &ctx) {
  const TensorType &a = op.operand(0)->type, &b = op.operand(1)->type;
  if (!allF32(op) || a.rank() != 2 || b.rank() != 2 ||
      op.result(0)->type.numElements() == 0 || a.shape[1] == 0)
    return absl::UnimplementedError(
        "'matmul' is lowered for non-empty 2-D f32 only");
  GemmShape s;
  s.M = a.shape[0];
  s.K = a.shape[1];
  s.N = b.shape[1];
  return emitGemmCall(ctx, s, GemmEpilogue{}, false);
}

} // namespace tcpu
