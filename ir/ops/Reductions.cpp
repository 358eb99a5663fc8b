//===- Reductions.cpp - Reductions ops: type inference and reference semantics ---===//
//
// reduce_* take `axes` (absent or empty: every axis; negative axes count from
// the end; a repeated axis is an error) and `keepdim`. The result keeps the
// input dtype; argmax gives i64.
//
// Reference semantics, by accumulating every input element into its output
// slot in row-major order:
// - floats accumulate in double (sum, prod, mean = sum / count) and round
//   once; NaN propagates through max and min; over zero elements sum is 0,
//   prod 1 and mean NaN (0/0). max/min keep the first of equal values.
// - integers: sum and prod wrap modulo 2^bits of the dtype, like `add` and
//   `mul`; mean is the exact mean truncated toward zero (computed in 128
//   bits, so it never overflows).
// - max and min over zero elements give their identity, as ONNX 18+ does:
//   -inf / +inf for floats, the dtype's lowest / highest value for integers.
// - argmax and integer mean over zero elements have no value: type
//   inference rejects them when the result is not empty.
// - argmax: NaN counts as larger than every number (as in NumPy); ties go to
//   the first index, or the last with select_last_index.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/OpSupport.h"

#include <cmath>
#include <limits>

namespace tcpu {

using namespace ops;

namespace {

/// The reduced axes as a mask over x's dimensions. Checks them when
/// `check` is given (inference); evaluation runs on verified attributes.
absl::StatusOr<std::vector<bool>> reducedAxes(const InferContext *check,
                                              const Attributes &attrs,
                                              int64_t rank,
                                              const TensorType *x) {
  std::vector<int64_t> axes = attrs.getInts("axes");
  std::vector<bool> mask(rank, axes.empty());
  for (int64_t axis : axes) {
    int64_t a = axis < 0 ? axis + rank : axis;
    if (check) {
      absl::StatusOr<int64_t> n = normalizeAxis(*check, axis, rank);
      if (!n.ok())
        return n.status();
      a = *n;
    }
    if (rank == 0)
      continue; // axis 0 of a scalar: the scalar itself, nothing to drop
    if (mask[a] && check)
      return invalid("axis " + std::to_string(axis) + " is repeated in the axes " +
                     attrValueToString(axes) + " of '" +
                     std::string(check->info.mnemonic) + "' for " + x->str());
    mask[a] = true;
  }
  return mask;
}

/// Shape after reducing `mask` (dims kept as 1 with keepdim).
Shape reducedShape(const Shape &shape, const std::vector<bool> &mask,
                   bool keepdim) {
  Shape out;
  for (size_t d = 0; d < shape.size(); ++d)
    if (!mask[d])
      out.push_back(shape[d]);
    else if (keepdim)
      out.push_back(1);
  return out;
}

/// Flat index of the output slot that input element `i` reduces into.
int64_t outputIndex(int64_t i, const Shape &shape,
                    const std::vector<bool> &mask) {
  int64_t index = 0, stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    int64_t coord = i % shape[d];
    i /= shape[d];
    if (!mask[d]) {
      index += coord * stride;
      stride *= shape[d];
    }
  }
  return index;
}

/// Errors when an op without an identity reduces over zero elements into a
/// non-empty result.
absl::Status requireNonEmptyReduction(const InferContext &ctx,
                                      const std::vector<bool> &mask,
                                      const Shape &outShape) {
  const TensorType &x = ctx.operand(0);
  int64_t outCount = 1;
  for (int64_t d : outShape)
    outCount *= d;
  for (size_t d = 0; d < mask.size(); ++d)
    if (mask[d] && x.shape[d] == 0 && outCount != 0)
      return invalid("'" + std::string(ctx.info.mnemonic) +
                     "' reduces over zero elements (axis " + std::to_string(d) +
                     " of " + x.str() + " is empty) and has no identity");
  return absl::OkStatus();
}

/// The lowest and highest values of an integer dtype: the identities of
/// max and min.
int64_t dtypeLowest(DType t) {
  switch (t) {
  case DType::I8:
    return std::numeric_limits<int8_t>::min();
  case DType::I32:
    return std::numeric_limits<int32_t>::min();
  case DType::I64:
    return std::numeric_limits<int64_t>::min();
  default: // u8, bool
    return 0;
  }
}
int64_t dtypeHighest(DType t) {
  switch (t) {
  case DType::I8:
    return std::numeric_limits<int8_t>::max();
  case DType::U8:
    return std::numeric_limits<uint8_t>::max();
  case DType::I32:
    return std::numeric_limits<int32_t>::max();
  case DType::Bool:
    return 1;
  default:
    return std::numeric_limits<int64_t>::max();
  }
}

int64_t wrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

enum class Reduction { Sum, Mean, Max, Min, Prod };

absl::StatusOr<std::vector<Tensor>> evalReduce(const EvalContext &ctx,
                                               Reduction kind) {
  if (absl::Status s = checkEvalTypes(ctx); !s.ok())
    return s;
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<std::vector<bool>> mask =
      reducedAxes(nullptr, ctx.attrs, x.rank(), nullptr);
  if (!mask.ok())
    return mask.status();
  const TensorType &rt = ctx.resultTypes[0];
  absl::StatusOr<Tensor> out = Tensor::allocate(TensorType(rt.dtype, rt.shape));
  if (!out.ok())
    return out.status();
  int64_t outCount = out->numElements(), n = x.numElements();
  // Elements per output slot (0 when x is empty).
  int64_t count = outCount == 0 ? 0 : n / outCount;

  if (isFloat(x.dtype())) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    double init = kind == Reduction::Prod  ? 1.0
                  : kind == Reduction::Max ? -inf
                  : kind == Reduction::Min ? inf
                                           : 0.0;
    std::vector<double> acc(outCount, init);
    std::vector<bool> seen(outCount, false);
    for (int64_t i = 0; i < n; ++i) {
      int64_t o = outputIndex(i, x.shape(), *mask);
      double v = x.elementAsDouble(i);
      double &a = acc[o];
      switch (kind) {
      case Reduction::Sum:
      case Reduction::Mean:
        a += v;
        break;
      case Reduction::Prod:
        a *= v;
        break;
      case Reduction::Max: // NaN sticks; the first of equal values stays
        if (!seen[o] || std::isnan(v) || (!std::isnan(a) && v > a))
          a = v;
        break;
      case Reduction::Min:
        if (!seen[o] || std::isnan(v) || (!std::isnan(a) && v < a))
          a = v;
        break;
      }
      seen[o] = true;
    }
    for (int64_t o = 0; o < outCount; ++o)
      storeDouble(*out, o,
                  kind == Reduction::Mean ? acc[o] / static_cast<double>(count)
                                          : acc[o]);
    return one(std::move(out));
  }

  if (kind == Reduction::Mean) {
    // Exact: |sum| < 2^63 * 2^63 fits in 128 bits; the quotient lies
    // between the smallest and the largest element, so it fits the dtype.
    std::vector<__int128> acc(outCount, 0);
    for (int64_t i = 0; i < n; ++i)
      acc[outputIndex(i, x.shape(), *mask)] += x.elementAsInt(i);
    for (int64_t o = 0; o < outCount; ++o)
      storeInt(*out, o, static_cast<int64_t>(acc[o] / count)); // inference: count > 0
    return one(std::move(out));
  }
  int64_t init = kind == Reduction::Prod  ? 1
                 : kind == Reduction::Max ? dtypeLowest(x.dtype())
                 : kind == Reduction::Min ? dtypeHighest(x.dtype())
                                          : 0;
  std::vector<int64_t> acc(outCount, init);
  std::vector<bool> seen(outCount, false);
  for (int64_t i = 0; i < n; ++i) {
    int64_t o = outputIndex(i, x.shape(), *mask);
    int64_t v = x.elementAsInt(i);
    int64_t &a = acc[o];
    switch (kind) {
    case Reduction::Sum:
    case Reduction::Mean:
      a = wrapAdd(a, v);
      break;
    case Reduction::Prod:
      a = wrapMul(a, v);
      break;
    case Reduction::Max:
      if (!seen[o] || v > a)
        a = v;
      break;
    case Reduction::Min:
      if (!seen[o] || v < a)
        a = v;
      break;
    }
    seen[o] = true;
  }
  for (int64_t o = 0; o < outCount; ++o)
    storeInt(*out, o, acc[o]);
  return one(std::move(out));
}

} // namespace

absl::Status inferReduce(InferContext &ctx) {
  if (absl::Status s = requirePlainOperands(ctx); !s.ok())
    return s;
  if (absl::Status s = requireDType(ctx, 0, isNumeric, "a numeric type");
      !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  absl::StatusOr<std::vector<bool>> mask =
      reducedAxes(&ctx, ctx.attrs, x.rank(), &x);
  if (!mask.ok())
    return mask.status();
  Shape out = reducedShape(x.shape, *mask, ctx.attrs.getInt("keepdim") != 0);
  if (ctx.info.kind == OpKind::ReduceMean && !isFloat(x.dtype))
    if (absl::Status s = requireNonEmptyReduction(ctx, *mask, out); !s.ok())
      return s;
  ctx.results = {TensorType(x.dtype, out)};
  return absl::OkStatus();
}

absl::Status inferArgmax(InferContext &ctx) {
  if (absl::Status s = requirePlainOperands(ctx); !s.ok())
    return s;
  if (absl::Status s = requireDType(ctx, 0, isNumeric, "a numeric type");
      !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  absl::StatusOr<int64_t> axis =
      normalizeAxis(ctx, ctx.attrs.getInt("axis"), x.rank());
  if (!axis.ok())
    return axis.status();
  std::vector<bool> mask(x.rank(), false);
  if (x.rank() > 0)
    mask[*axis] = true;
  Shape out = reducedShape(x.shape, mask, ctx.attrs.getInt("keepdim") != 0);
  if (absl::Status s = requireNonEmptyReduction(ctx, mask, out); !s.ok())
    return s;
  ctx.results = {TensorType(DType::I64, out)};
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> evalReduceSum(const EvalContext &ctx) {
  return evalReduce(ctx, Reduction::Sum);
}

absl::StatusOr<std::vector<Tensor>> evalReduceMean(const EvalContext &ctx) {
  return evalReduce(ctx, Reduction::Mean);
}

absl::StatusOr<std::vector<Tensor>> evalReduceMax(const EvalContext &ctx) {
  return evalReduce(ctx, Reduction::Max);
}

absl::StatusOr<std::vector<Tensor>> evalReduceMin(const EvalContext &ctx) {
  return evalReduce(ctx, Reduction::Min);
}

absl::StatusOr<std::vector<Tensor>> evalReduceProd(const EvalContext &ctx) {
  return evalReduce(ctx, Reduction::Prod);
}

absl::StatusOr<std::vector<Tensor>> evalArgmax(const EvalContext &ctx) {
  if (absl::Status s = checkEvalTypes(ctx); !s.ok())
    return s;
  const Tensor &x = ctx.operand(0);
  int64_t rank = x.rank();
  int64_t axis = ctx.attrs.getInt("axis");
  if (axis < 0)
    axis += rank;
  std::vector<bool> mask(rank, false);
  if (rank > 0)
    mask[axis] = true;
  bool last = ctx.attrs.getInt("select_last_index") != 0;
  const TensorType &rt = ctx.resultTypes[0];
  absl::StatusOr<Tensor> out = Tensor::allocate(TensorType(rt.dtype, rt.shape));
  if (!out.ok())
    return out.status();
  int64_t outCount = out->numElements(), n = x.numElements();
  int64_t inner = 1; // stride of `axis`
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= x.shape()[d];
  int64_t axisSize = rank > 0 ? x.shape()[axis] : 1;
  bool useFloat = isFloat(x.dtype());
  std::vector<double> bestF(outCount);
  std::vector<int64_t> bestI(outCount), bestIndex(outCount, -1);
  // Row-major order visits each slot's elements in increasing axis index.
  for (int64_t i = 0; i < n; ++i) {
    int64_t o = outputIndex(i, x.shape(), mask);
    int64_t k = (i / inner) % axisSize;
    bool take;
    if (bestIndex[o] < 0) {
      take = true;
    } else if (useFloat) {
      double v = x.elementAsDouble(i), b = bestF[o];
      bool vNaN = std::isnan(v), bNaN = std::isnan(b);
      bool greater = (vNaN && !bNaN) || (!bNaN && v > b);
      bool equal = (vNaN && bNaN) || (!vNaN && v == b);
      take = greater || (last && equal);
    } else {
      int64_t v = x.elementAsInt(i), b = bestI[o];
      take = v > b || (last && v == b);
    }
    if (take) {
      bestIndex[o] = k;
      if (useFloat)
        bestF[o] = x.elementAsDouble(i);
      else
        bestI[o] = x.elementAsInt(i);
    }
  }
  for (int64_t o = 0; o < outCount; ++o)
    out->setElementFromInt(o, bestIndex[o] < 0 ? 0 : bestIndex[o]);
  return one(std::move(out));
}

} // namespace tcpu
