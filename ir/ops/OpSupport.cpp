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
