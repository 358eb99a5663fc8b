//===- Rounding.cpp - round: reference semantics ---------------------------===//
//
// round rounds half to even (as ONNX Round and NumPy do); quantization
// (x / scale rounded, plus zero point, saturated) is built from it.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/OpSupport.h"

#include <cfenv>
#include <cmath>

namespace tcpu {

absl::StatusOr<std::vector<Tensor>> evalRound(const EvalContext &ctx) {
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<Tensor> out = Tensor::allocate(ctx.resultTypes[0]);
  if (!out.ok())
    return out.status();
  for (int64_t i = 0, n = x.numElements(); i < n; ++i) {
    // nearbyint follows the rounding mode, which is round-to-nearest-even
    // unless someone changed it; std::round would round half away from 0.
    out->setElementFromDouble(i, std::nearbyint(x.elementAsDouble(i)));
  }
  return ops::one(std::move(out));
}

} // namespace tcpu
