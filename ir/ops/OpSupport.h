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

// ===== Raw-array helpers (linalg, conv, recurrent ops) =====================
namespace tcpu::ops {

/// Error unless every present operand has the plain layout; the message names
/// the op, the operand and its type.
absl::Status requirePlainOperands(const InferContext &ctx);

/// Error unless attribute `name` is a list of `n` values >= `min`:
/// "<op> <name> must be <n> <what>, got [..]".
absl::Status checkIntList(const InferContext &ctx, const std::string &name,
                          size_t n, int64_t min, std::string_view what);

/// Element values as a flat row-major vector (f16/bf16 decoded, bool 0/1).
std::vector<double> toDoubleVector(const Tensor &t);
/// Element values as a flat row-major vector of int64 (integer, bool dtypes).
std::vector<int64_t> toInt64Vector(const Tensor &t);
/// A plain tensor of `type` holding `values` (row-major, type.numElements()
/// of them), converted as Tensor::setElementFromDouble/Int convert.
absl::StatusOr<Tensor> tensorFromDoubles(const TensorType &type,
                                         const std::vector<double> &values);
absl::StatusOr<Tensor> tensorFromInt64s(const TensorType &type,
                                        const std::vector<int64_t> &values);

/// Re-runs the op's type inference on the operand tensors' types and checks
/// that it yields ctx.resultTypes, so that an eval called directly (not
/// through a verified graph) returns an error instead of indexing out of
/// bounds. Cheap next to any evaluation.
absl::Status checkEvalTypes(const EvalContext &ctx);

} // namespace tcpu::ops
// ===== End of raw-array helpers ============================================

// ===== Elementwise, reduction and normalization helpers ====================
namespace tcpu::ops {

/// The flat row-major index, in a tensor of shape `in`, of the element that
/// NumPy broadcasting maps to flat index `i` of shape `out`. Precondition:
/// `in` broadcasts to `out` and 0 <= i < numElements(out).
int64_t broadcastIndex(const Shape &in, const Shape &out, int64_t i);

/// `v` reduced to the range of integer dtype `t` by two's-complement wrapping
/// (modulo 2^bits, as LLVM's trunc and NumPy do); bool gives v != 0.
int64_t wrapToDType(int64_t v, DType t);

/// As Tensor::setElementFromDouble, but f16 and bf16 are rounded to nearest
/// even ONCE, from the double. (setElementFromDouble rounds through f32,
/// which is 1 ulp off when the f32 rounding lands exactly on an f16/bf16 tie.)
void storeDouble(Tensor &t, int64_t i, double v);

/// Stores an exact integer: integer dtypes wrap (wrapToDType), float dtypes
/// round to nearest even once from the exact value (not through double),
/// bool stores v != 0.
void storeInt(Tensor &t, int64_t i, int64_t v);

} // namespace tcpu::ops
// ===== End of elementwise, reduction and normalization helpers =============
