//===- Prepack.cpp - GEMM operands that are constants, packed once --------===//
#include "codegen/lower/Prepack.h"

namespace tcpu {

bool prepackable(const LoweringContext &ctx, int operand, int64_t floats) {
  if (operand < 0)
    return false;
  const Tensor *t = ctx.constantOperand(static_cast<size_t>(operand));
  return t && t->dtype() == DType::F32 && t->numElements() > 0 &&
         t->numElements() >= floats && t->data();
}

int64_t prepackOperand(LoweringContext &ctx, int operand, bool asA,
                       const GemmShape &shape, const GemmBlocking &blocking,
                       int64_t count, int64_t srcStride, int64_t first) {
  const Tensor *t = ctx.constantOperand(static_cast<size_t>(operand));
  const float *src = static_cast<const float *>(t->data()) + first;
  const int64_t each = asA ? prepackedAFloats(shape, blocking)
                           : prepackedBFloats(shape, blocking);
  auto packed = std::make_shared<PackedConstant>(each * count);
  for (int64_t i = 0; i < count; ++i) {
    float *dst = packed->data() + i * each;
    if (asA)
      prepackA(src + i * srcStride, shape, blocking, dst);
    else
      prepackB(src + i * srcStride, shape, blocking, dst);
  }
  ctx.replaceOperand(static_cast<size_t>(operand), std::move(packed));
  return each;
}

} // namespace tcpu
