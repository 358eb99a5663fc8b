//===- OpSupport.cpp - Helpers shared by the op implementations -----------===//
#include "ir/ops/OpSupport.h"

namespace tcpu::ops {

absl::Status invalid(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

absl::StatusOr<int64_t> normalizeAxis(const InferContext &ctx, int64_t axis,
                                      int64_t rank) {
  int64_t lo = -rank, hi = rank - 1;
  if (rank == 0)
    lo = hi = 0; // a scalar has only the "whole" axis for some ops
  if (axis < lo || axis > hi)
    return invalid("axis " + std::to_string(axis) + " of '" +
                   std::string(ctx.info.mnemonic) + "' is out of range for rank " +
                   std::to_string(rank) + " (valid: " + std::to_string(lo) +
                   " to " + std::to_string(hi) + ")");
  return axis < 0 ? axis + rank : axis;
}

std::string operandStr(const InferContext &ctx, size_t i) {
  return ctx.has(i) ? ctx.operand(i).str() : "none";
}

absl::Status requireSameDType(const InferContext &ctx) {
  const TensorType *first = nullptr;
  size_t firstIndex = 0;
  for (size_t i = 0; i < ctx.operands.size(); ++i) {
    if (!ctx.operands[i])
      continue;
    if (!first) {
      first = ctx.operands[i];
      firstIndex = i;
    } else if (ctx.operands[i]->dtype != first->dtype) {
      auto name = [&](size_t k) {
        return ctx.info.operands[std::min(k, ctx.info.operands.size() - 1)].name;
      };
      return invalid("operands of '" + std::string(ctx.info.mnemonic) +
                     "' have different dtypes: " + name(firstIndex) + " is " +
                     first->str() + ", " + name(i) + " is " +
                     ctx.operands[i]->str());
    }
  }
  return absl::OkStatus();
}

absl::Status requireDType(const InferContext &ctx, size_t i,
                          bool (*pred)(DType), std::string_view what) {
  if (!ctx.has(i) || pred(ctx.operand(i).dtype))
    return absl::OkStatus();
  return invalid("operand '" +
                 ctx.info.operands[std::min(i, ctx.info.operands.size() - 1)]
                     .name +
                 "' of '" + std::string(ctx.info.mnemonic) + "' must have " +
                 std::string(what) + ", got " + ctx.operand(i).str());
}

absl::Status requireRank(const InferContext &ctx, size_t i, int64_t lo,
                         int64_t hi) {
  if (!ctx.has(i))
    return absl::OkStatus();
  int64_t r = ctx.operand(i).rank();
  if (r >= lo && r <= hi)
    return absl::OkStatus();
  std::string want = lo == hi ? "rank " + std::to_string(lo)
                              : "rank " + std::to_string(lo) + " to " +
                                    std::to_string(hi);
  return invalid("operand '" +
                 ctx.info.operands[std::min(i, ctx.info.operands.size() - 1)]
                     .name +
                 "' of '" + std::string(ctx.info.mnemonic) + "' must have " +
                 want + ", got " + ctx.operand(i).str());
}

std::vector<size_t> toXShape(const Shape &s) {
  return std::vector<size_t>(s.begin(), s.end());
}
Shape fromXShape(const std::vector<size_t> &s) {
  return Shape(s.begin(), s.end());
}

xt::xarray<double> toDouble(const Tensor &t) {
  xt::xarray<double> a = xt::xarray<double>::from_shape(toXShape(t.shape()));
  int64_t n = t.numElements();
  for (int64_t i = 0; i < n; ++i)
    a.data()[i] = t.elementAsDouble(i);
  return a;
}

xt::xarray<int64_t> toInt64(const Tensor &t) {
  xt::xarray<int64_t> a = xt::xarray<int64_t>::from_shape(toXShape(t.shape()));
  int64_t n = t.numElements();
  for (int64_t i = 0; i < n; ++i)
    a.data()[i] = t.elementAsInt(i);
  return a;
}

absl::StatusOr<Tensor> fromDouble(const xt::xarray<double> &a, DType dtype) {
  absl::StatusOr<Tensor> t =
      Tensor::allocate(TensorType(dtype, fromXShape({a.shape().begin(), a.shape().end()})));
  if (!t.ok())
    return t;
  int64_t n = t->numElements();
  for (int64_t i = 0; i < n; ++i)
    t->setElementFromDouble(i, a.data()[i]);
  return t;
}

absl::StatusOr<Tensor> fromInt64(const xt::xarray<int64_t> &a, DType dtype) {
  absl::StatusOr<Tensor> t =
      Tensor::allocate(TensorType(dtype, fromXShape({a.shape().begin(), a.shape().end()})));
  if (!t.ok())
    return t;
  int64_t n = t->numElements();
  for (int64_t i = 0; i < n; ++i)
    t->setElementFromInt(i, a.data()[i]);
  return t;
}

absl::StatusOr<std::vector<Tensor>> one(absl::StatusOr<Tensor> t) {
  if (!t.ok())
    return t.status();
  std::vector<Tensor> v;
  v.push_back(std::move(*t));
  return v;
}

} // namespace tcpu::ops

// ===== Raw-array helpers (linalg, conv, recurrent ops) =====================
namespace tcpu::ops {

absl::Status requirePlainOperands(const InferContext &ctx) {
  for (size_t i = 0; i < ctx.operands.size(); ++i) {
    if (!ctx.has(i) || ctx.operand(i).isPlain())
      continue;
    return invalid(
        "operand '" +
        ctx.info.operands[std::min(i, ctx.info.operands.size() - 1)].name +
        "' of '" + std::string(ctx.info.mnemonic) +
        "' must have the plain layout, got " + ctx.operand(i).str());
  }
  return absl::OkStatus();
}

absl::Status checkIntList(const InferContext &ctx, const std::string &name,
                          size_t n, int64_t min, std::string_view what) {
  std::vector<int64_t> v = ctx.attrs.getInts(name);
  bool ok = v.size() == n;
  for (int64_t x : v)
    ok = ok && x >= min;
  if (ok)
    return absl::OkStatus();
  return invalid(std::string(ctx.info.mnemonic) + " " + name + " must be " +
                 std::to_string(n) + " " + std::string(what) + ", got " +
                 attrValueToString(AttrValue(v)));
}

std::vector<double> toDoubleVector(const Tensor &t) {
  int64_t n = t.numElements();
  std::vector<double> v(static_cast<size_t>(n));
  if (t.dtype() == DType::F32) {
    const float *p = t.dataAs<float>();
    for (int64_t i = 0; i < n; ++i)
      v[i] = p[i];
  } else {
    for (int64_t i = 0; i < n; ++i)
      v[i] = t.elementAsDouble(i);
  }
  return v;
}

std::vector<int64_t> toInt64Vector(const Tensor &t) {
  int64_t n = t.numElements();
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[i] = t.elementAsInt(i);
  return v;
}

absl::StatusOr<Tensor> tensorFromDoubles(const TensorType &type,
                                         const std::vector<double> &values) {
  absl::StatusOr<Tensor> t = Tensor::allocate(TensorType(type.dtype, type.shape));
  if (!t.ok())
    return t;
  int64_t n = t->numElements();
  if (static_cast<int64_t>(values.size()) != n)
    return absl::InternalError("tensorFromDoubles: " + std::to_string(values.size()) +
                               " values for " + type.str());
  if (type.dtype == DType::F32) {
    float *p = t->mutableDataAs<float>();
    for (int64_t i = 0; i < n; ++i)
      p[i] = static_cast<float>(values[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      t->setElementFromDouble(i, values[i]);
  }
  return t;
}

absl::StatusOr<Tensor> tensorFromInt64s(const TensorType &type,
                                        const std::vector<int64_t> &values) {
  absl::StatusOr<Tensor> t = Tensor::allocate(TensorType(type.dtype, type.shape));
  if (!t.ok())
    return t;
  int64_t n = t->numElements();
  if (static_cast<int64_t>(values.size()) != n)
    return absl::InternalError("tensorFromInt64s: " + std::to_string(values.size()) +
                               " values for " + type.str());
  for (int64_t i = 0; i < n; ++i)
    t->setElementFromInt(i, values[i]);
  return t;
}

absl::Status checkEvalTypes(const EvalContext &ctx) {
  std::vector<const TensorType *> types;
  for (size_t i = 0; i < ctx.operands.size(); ++i)
    types.push_back(ctx.has(i) ? &ctx.operand(i).type() : nullptr);
  if (std::string problem =
          checkOperandCount(ctx.info, static_cast<int>(types.size()));
      !problem.empty())
    return invalid(problem);
  for (size_t i = 0; i < types.size(); ++i)
    if (!types[i] && !ctx.info.operands[std::min(i, ctx.info.operands.size() - 1)].optional)
      return invalid("operand '" + ctx.info.operands[i].name + "' of '" +
                     std::string(ctx.info.mnemonic) + "' is required");
  InferContext ic{ctx.info, types, ctx.attrs, {}};
  if (absl::Status s = ctx.info.infer(ic); !s.ok())
    return s;
  bool same = ic.results.size() == ctx.resultTypes.size();
  for (size_t i = 0; same && i < ic.results.size(); ++i)
    same = ic.results[i].dtype == ctx.resultTypes[i].dtype &&
           ic.results[i].shape == ctx.resultTypes[i].shape;
  if (same)
    return absl::OkStatus();
  auto list = [](const std::vector<TensorType> &ts) {
    std::string s;
    for (const TensorType &t : ts)
      s += (s.empty() ? "" : ", ") + t.str();
    return s;
  };
  return invalid("'" + std::string(ctx.info.mnemonic) + "' operands give " +
                 list(ic.results) + ", not the expected " +
                 list(ctx.resultTypes));
}

} // namespace tcpu::ops
// ===== End of raw-array helpers ============================================

// ===== Elementwise, reduction and normalization helpers ====================
#include <bit>
#include <cmath>

namespace tcpu::ops {

int64_t broadcastIndex(const Shape &in, const Shape &out, int64_t i) {
  size_t lead = out.size() - in.size();
  int64_t index = 0, stride = 1;
  for (size_t d = out.size(); d-- > lead;) {
    int64_t coord = i % out[d];
    i /= out[d];
    int64_t dim = in[d - lead];
    if (dim != 1)
      index += coord * stride;
    stride *= dim;
  }
  return index;
}

int64_t wrapToDType(int64_t v, DType t) {
  // Conversions to narrower signed types are modular since C++20.
  switch (t) {
  case DType::I8:
    return static_cast<int8_t>(v);
  case DType::U8:
    return static_cast<uint8_t>(v);
  case DType::I32:
    return static_cast<int32_t>(v);
  case DType::Bool:
    return v != 0;
  default:
    return v;
  }
}

namespace {
// Round-to-odd to f32: an exact value stays; any other goes to the neighbour
// (toward or away from zero) whose last significand bit is 1. Rounding that
// to nearest even at a precision at least two bits narrower (f16: 11 bits,
// bf16: 8, f32: 24) equals rounding the original value once (Boldo and
// Melquiond, "When double rounding is odd").
float oddF32(float nearest, bool exact, bool nearestIsAbove) {
  if (exact)
    return nearest;
  float truncated = nearestIsAbove ? std::nextafter(nearest, 0.0f) : nearest;
  return std::bit_cast<float>(std::bit_cast<uint32_t>(truncated) | 1u);
}

float roundToOddF32(double v) {
  float f = static_cast<float>(v);
  if (std::isnan(v))
    return f;
  return oddF32(f, static_cast<double>(f) == v,
                std::fabs(static_cast<double>(f)) > std::fabs(v));
}

float roundToOddF32(int64_t v) {
  float f = static_cast<float>(v); // nearest even; may be 2^63 > INT64_MAX
  bool fits = f < 9.2233720368547758e18f;
  int64_t back = fits ? static_cast<int64_t>(f) : 0;
  bool exact = fits && back == v;
  bool above = !fits || (v >= 0 ? back > v : back < v);
  return oddF32(f, exact, above);
}
} // namespace

void storeDouble(Tensor &t, int64_t i, double v) {
  if (t.dtype() == DType::F16 || t.dtype() == DType::BF16)
    t.setElementFromDouble(i, roundToOddF32(v)); // f32 -> 16 bits is exact-then-RNE
  else
    t.setElementFromDouble(i, v);
}

void storeInt(Tensor &t, int64_t i, int64_t v) {
  switch (t.dtype()) {
  case DType::F32:
    t.setElementFromDouble(i, static_cast<float>(v)); // one rounding
    return;
  case DType::F16:
  case DType::BF16:
    t.setElementFromDouble(i, roundToOddF32(v));
    return;
  default:
    t.setElementFromInt(i, wrapToDType(v, t.dtype()));
    return;
  }
}

} // namespace tcpu::ops
// ===== End of elementwise, reduction and normalization helpers =============
