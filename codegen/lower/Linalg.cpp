//===- Linalg.cpp - Lowering of matmul and linear onto the GEMM generator ---===//
//
// linear (any rank of x, weight [N, K]) and 2-D matmul become a call to a
// kernel from emitGemmFunction (codegen/Gemm.h): packed panels, register
// blocking, cache blocking, threads through the runtime's C ABI; linear's
// bias is the GEMM epilogue. gemm (ONNX Gemm) maps its transposes and alpha
// onto the kernel and its C onto the epilogue: a per-column or per-row bias,
// or a full residual, when beta is 1. Batched matmul, gemm with another beta
// or a scalar C, empty shapes and other dtypes stay on the interpreter.
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

/// Calls a kernel for `shape`; `bias` and `residual` are operand indices or -1.
absl::Status emitGemmCall(LoweringContext &ctx, const GemmShape &shape,
                          const GemmEpilogue &epilogue, int bias,
                          int residual = -1) {
  absl::StatusOr<GemmKernel> kernel =
      emitGemmFunction(ctx.module(), ctx.target(), shape, epilogue,
                       ctx.function()->getName().str() + ".gemm");
  if (!kernel.ok())
    return kernel.status();
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Value *null = llvm::ConstantPointerNull::get(b.getPtrTy());
  b.CreateCall(kernel->function,
               {ctx.operandPtr(0), ctx.operandPtr(1), ctx.resultPtr(0),
                bias >= 0 ? ctx.operandPtr(bias) : null,
                residual >= 0 ? ctx.operandPtr(residual) : null, null});
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
  return emitGemmCall(ctx, s, e, hasBias ? 2 : -1);
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
  return emitGemmCall(ctx, s, GemmEpilogue{}, -1);
}

absl::Status lowerGemm(const Op &op, LoweringContext &ctx) {
  const TensorType &a = op.operand(0)->type, &y = op.result(0)->type;
  if (!allF32(op) || y.numElements() == 0)
    return absl::UnimplementedError("'gemm' is lowered for non-empty f32 only");
  GemmShape s;
  s.transA = op.attrs.getInt("trans_a") != 0;
  s.transB = op.attrs.getInt("trans_b") != 0;
  s.M = y.shape[0];
  s.N = y.shape[1];
  s.K = s.transA ? a.shape[0] : a.shape[1];
  s.alpha = static_cast<float>(op.attrs.getFloat("alpha", 1.0));
  if (s.K == 0)
    return absl::UnimplementedError("'gemm' with K = 0 stays on the interpreter");
  GemmEpilogue e;
  const Value *c = op.operand(2);
  if (!c)
    return emitGemmCall(ctx, s, e, -1);
  if (op.attrs.getFloat("beta", 1.0) != 1.0)
    return absl::UnimplementedError("'gemm' with C and beta != 1 stays on the "
                                    "interpreter");
  // C broadcasts to [M, N]: which elements it holds decides the epilogue.
  const Shape &cs = c->type.shape;
  int64_t rows = cs.size() == 2 ? cs[0] : 1;
  int64_t cols = cs.empty() ? 1 : cs.back();
  if (rows == s.M && cols == s.N && c->type.numElements() == s.M * s.N) {
    e.residual = true;
    return emitGemmCall(ctx, s, e, -1, 2);
  }
  if (rows == 1 && cols == s.N) {
    e.bias = GemmEpilogue::Bias::PerColumn;
    return emitGemmCall(ctx, s, e, 2);
  }
  if (rows == s.M && cols == 1) {
    e.bias = GemmEpilogue::Bias::PerRow;
    return emitGemmCall(ctx, s, e, 2);
  }
  return absl::UnimplementedError("'gemm' with a scalar C stays on the "
                                  "interpreter");
}

} // namespace tcpu
