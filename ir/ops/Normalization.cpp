//===- Normalization.cpp - Normalization ops: type inference and reference semantics ---===//
//
// All four ops take float tensors of the plain layout, compute in double and
// round once to the input dtype.
// - batch_norm (inference form): x has rank >= 2 with channels on axis 1;
//   scale, bias, mean and var are 1-D of size C;
//   y = (x - mean) / sqrt(var + epsilon) * scale + bias.
// - layer_norm normalizes over the axes [axis, rank) with the biased
//   (population) variance, computed in two passes;
//   y = (x - mean) / sqrt(var + epsilon) * scale + bias. scale and bias are
//   optional; each must broadcast (NumPy rules) to the normalized shape
//   x.shape[axis:] without changing it: [C] or [1, C] for a normalized shape
//   [T, C], not [2, T, C].
// - softmax / log_softmax subtract the maximum along `axis` first; a NaN
//   anywhere in a row makes the whole row NaN, so does +inf (inf - inf), and
//   a row of -inf gives NaN, as PyTorch does.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/OpSupport.h"
#include "ir/IntMath.h"

#include <cmath>
#include <limits>

namespace tcpu {

using namespace ops;

namespace {

std::string epsilonError(const InferContext &ctx) {
  double eps = ctx.attrs.getFloat("epsilon");
  if (eps >= 0 && std::isfinite(eps))
    return "";
  return "epsilon of '" + std::string(ctx.info.mnemonic) +
         "' must be finite and >= 0, got " + attrValueToString(eps);
}


/// Checks the common preconditions: plain layout, x of a float type, every
/// present operand of x's dtype, rank of x at least `minRank`.
absl::Status checkFloatOperands(const InferContext &ctx, int64_t minRank) {
  if (absl::Status s = requirePlainOperands(ctx); !s.ok())
    return s;
  if (absl::Status s = requireDType(ctx, 0, isFloat, "a float type"); !s.ok())
    return s;
  if (absl::Status s = requireSameDType(ctx); !s.ok())
    return s;
  return requireRank(ctx, 0, minRank, kMaxRank);
}

absl::StatusOr<Tensor> allocateResult(const EvalContext &ctx) {
  const TensorType &rt = ctx.resultTypes[0];
  return Tensor::allocate(TensorType(rt.dtype, rt.shape));
}

absl::StatusOr<std::vector<Tensor>> evalSoftmaxImpl(const EvalContext &ctx,
                                                    bool logarithm) {
  if (absl::Status s = checkEvalTypes(ctx); !s.ok())
    return s;
  const Tensor &x = ctx.operand(0);
  const Shape &shape = x.shape();
  int64_t axis = ctx.attrs.getInt("axis", -1);
  if (axis < 0)
    axis += x.rank();
  int64_t outer = product(shape, 0, axis), n = shape[axis],
          inner = product(shape, axis + 1, shape.size());
  absl::StatusOr<Tensor> out = allocateResult(ctx);
  if (!out.ok())
    return out.status();
  // Element k of row (o, j) is at (o * n + k) * inner + j.
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t k) { return (o * n + k) * inner + j; };
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < n; ++k) {
        double v = x.elementAsDouble(at(k));
        m = (std::isnan(v) || v > m) ? v : m;
        if (std::isnan(m))
          break;
      }
      double sum = 0;
      for (int64_t k = 0; k < n; ++k)
        sum += std::exp(x.elementAsDouble(at(k)) - m);
      for (int64_t k = 0; k < n; ++k) {
        double shifted = x.elementAsDouble(at(k)) - m;
        storeDouble(*out, at(k),
                    logarithm ? shifted - std::log(sum)
                              : std::exp(shifted) / sum);
      }
    }
  }
  return one(std::move(out));
}

} // namespace

absl::Status inferBatchNorm(InferContext &ctx) {
  if (absl::Status s = checkFloatOperands(ctx, 2); !s.ok())
    return s;
  if (std::string e = epsilonError(ctx); !e.empty())
    return invalid(e);
  const TensorType &x = ctx.operand(0);
  int64_t channels = x.shape[1];
  for (size_t i = 1; i < 5; ++i) {
    const TensorType &p = ctx.operand(i);
    if (p.rank() != 1 || p.shape[0] != channels)
      return invalid("operand '" + ctx.info.operands[i].name +
                     "' of 'batch_norm' must be 1-D of size " +
                     std::to_string(channels) + " (the channels, axis 1, of x: " +
                     x.str() + "), got " + p.str());
  }
  ctx.results = {TensorType(x.dtype, x.shape)};
  return absl::OkStatus();
}

absl::Status inferLayerNorm(InferContext &ctx) {
  if (absl::Status s = checkFloatOperands(ctx, 1); !s.ok())
    return s;
  if (std::string e = epsilonError(ctx); !e.empty())
    return invalid(e);
  const TensorType &x = ctx.operand(0);
  absl::StatusOr<int64_t> axis =
      normalizeAxis(ctx, ctx.attrs.getInt("axis", -1), x.rank());
  if (!axis.ok())
    return axis.status();
  Shape normalized(x.shape.begin() + *axis, x.shape.end());
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has(i))
      continue;
    const TensorType &p = ctx.operand(i);
    if (broadcastShapes(p.shape, normalized) != normalized)
      return invalid("operand '" + ctx.info.operands[i].name +
                     "' of 'layer_norm' must broadcast to the normalized shape " +
                     shapeToString(normalized) + " (x.shape[" +
                     std::to_string(*axis) + ":] of " + x.str() +
                     ") without changing it, got " + p.str());
  }
  ctx.results = {TensorType(x.dtype, x.shape)};
  return absl::OkStatus();
}

absl::Status inferSoftmax(InferContext &ctx) {
  if (absl::Status s = checkFloatOperands(ctx, 1); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  absl::StatusOr<int64_t> axis =
      normalizeAxis(ctx, ctx.attrs.getInt("axis", -1), x.rank());
  if (!axis.ok())
    return axis.status();
  ctx.results = {TensorType(x.dtype, x.shape)};
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> evalBatchNorm(const EvalContext &ctx) {
  if (absl::Status s = checkEvalTypes(ctx); !s.ok())
    return s;
  const Tensor &x = ctx.operand(0), &scale = ctx.operand(1),
               &bias = ctx.operand(2), &mean = ctx.operand(3),
               &var = ctx.operand(4);
  double eps = ctx.attrs.getFloat("epsilon", 1e-5);
  int64_t channels = x.shape()[1];
  int64_t inner = product(x.shape(), 2, x.shape().size());
  absl::StatusOr<Tensor> out = allocateResult(ctx);
  if (!out.ok())
    return out.status();
  for (int64_t i = 0, n = x.numElements(); i < n; ++i) {
    int64_t c = (i / inner) % channels;
    double y = (x.elementAsDouble(i) - mean.elementAsDouble(c)) /
                   std::sqrt(var.elementAsDouble(c) + eps) *
                   scale.elementAsDouble(c) +
               bias.elementAsDouble(c);
    storeDouble(*out, i, y);
  }
  return one(std::move(out));
}

absl::StatusOr<std::vector<Tensor>> evalLayerNorm(const EvalContext &ctx) {
  if (absl::Status s = checkEvalTypes(ctx); !s.ok())
    return s;
  const Tensor &x = ctx.operand(0);
  const Tensor *scale = ctx.has(1) ? &ctx.operand(1) : nullptr;
  const Tensor *bias = ctx.has(2) ? &ctx.operand(2) : nullptr;
  double eps = ctx.attrs.getFloat("epsilon", 1e-5);
  int64_t axis = ctx.attrs.getInt("axis", -1);
  if (axis < 0)
    axis += x.rank();
  Shape normalized(x.shape().begin() + axis, x.shape().end());
  int64_t outer = product(x.shape(), 0, axis);
  int64_t inner = product(normalized, 0, normalized.size());
  absl::StatusOr<Tensor> out = allocateResult(ctx);
  if (!out.ok())
    return out.status();
  for (int64_t o = 0; o < outer; ++o) {
    int64_t base = o * inner;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < inner; ++j)
      mean += x.elementAsDouble(base + j);
    mean /= static_cast<double>(inner);
    for (int64_t j = 0; j < inner; ++j) {
      double d = x.elementAsDouble(base + j) - mean;
      var += d * d;
    }
    var /= static_cast<double>(inner);
    double denom = std::sqrt(var + eps);
    for (int64_t j = 0; j < inner; ++j) {
      double y = (x.elementAsDouble(base + j) - mean) / denom;
      if (scale)
        y *= scale->elementAsDouble(broadcastIndex(scale->shape(), normalized, j));
      if (bias)
        y += bias->elementAsDouble(broadcastIndex(bias->shape(), normalized, j));
      storeDouble(*out, base + j, y);
    }
  }
  return one(std::move(out));
}

absl::StatusOr<std::vector<Tensor>> evalSoftmax(const EvalContext &ctx) {
  return evalSoftmaxImpl(ctx, /*logarithm=*/false);
}

absl::StatusOr<std::vector<Tensor>> evalLogSoftmax(const EvalContext &ctx) {
  return evalSoftmaxImpl(ctx, /*logarithm=*/true);
}

} // namespace tcpu
