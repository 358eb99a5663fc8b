//===- OpSupport.h - Helpers shared by the op implementations ---*- C++ -*-===//
//
// Type-inference helpers (broadcasting, axis normalization, error messages)
// and the bridge between Tensor and xtensor used by the reference semantics.
// The reference computes floats in double and integers in int64, then
// stores in the result dtype: simple, and at least as accurate as any kernel.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/OpTable.h"
#include "ir/Tensor.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <xtensor/xarray.hpp>

#include <optional>
#include <string>
#include <vector>

namespace tcpu::ops {

/// An InvalidArgument error; type inference messages show the types involved.
absl::Status invalid(std::string message);

/// NumPy broadcasting of two shapes; nullopt when incompatible.
std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b);

/// Maps axis in [-rank, rank) to [0, rank); an error names the op and axis.
absl::StatusOr<int64_t> normalizeAxis(const InferContext &ctx, int64_t axis,
                                      int64_t rank);

/// "f32[8,64]" of operand i, or "none".
std::string operandStr(const InferContext &ctx, size_t i);

/// Error unless every present operand has the same dtype.
absl::Status requireSameDType(const InferContext &ctx);

/// Error unless operand i's dtype satisfies pred; `what` says what is allowed
/// ("a float type", "a signed type", ...).
absl::Status requireDType(const InferContext &ctx, size_t i,
                          bool (*pred)(DType), std::string_view what);

/// Error unless operand i has rank in [lo, hi].
absl::Status requireRank(const InferContext &ctx, size_t i, int64_t lo,
                         int64_t hi);

// ----- xtensor bridge ------------------------------------------------------

std::vector<size_t> toXShape(const Shape &s);
Shape fromXShape(const std::vector<size_t> &s);
/// Element values as double (f16/bf16 decoded, bool 0/1).
xt::xarray<double> toDouble(const Tensor &t);
/// Element values as int64 (for integer and bool dtypes).
xt::xarray<int64_t> toInt64(const Tensor &t);
/// A tensor of `dtype` with the array's shape and values, converted as
/// Tensor::setElementFromDouble/Int convert.
absl::StatusOr<Tensor> fromDouble(const xt::xarray<double> &a, DType dtype);
absl::StatusOr<Tensor> fromInt64(const xt::xarray<int64_t> &a, DType dtype);

/// Wraps one result tensor (or forwards an error).
absl::StatusOr<std::vector<Tensor>> one(absl::StatusOr<Tensor> t);

} // namespace tcpu::ops
