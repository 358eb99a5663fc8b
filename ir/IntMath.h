//===- IntMath.h - Integer helpers of shape and window arithmetic -*- C++ -*-===//
//
// Rounding divisions and dim products used by type inference, the
// reference semantics, the passes and the lowerings alike: one definition,
// so that a window or a block count is computed the same way everywhere.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Types.h"

#include <cstddef>
#include <cstdint>

namespace tcpu {

/// floor(a / b) for b > 0 and any sign of a.
inline int64_t floorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/// ceil(a / b) for b > 0 and any sign of a.
inline int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

/// The multiple of b (b > 0) at or above a, and at or below a.
inline int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }
inline int64_t roundDown(int64_t a, int64_t b) { return floorDiv(a, b) * b; }

/// The product of dims [from, to) of `s` (1 when the range is empty).
inline int64_t product(const Shape &s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to; ++d)
    p *= s[d];
  return p;
}

} // namespace tcpu
