//===- IntMath.h - Integer helpers of shape and window arithmetic -*- C++ -*-===//
//
// Rounding divisions and dim products used by type inference, the
// reference semantics, the passes and the lowerings alike: one definition,
// so that a window or a block count is computed the same way everywhere.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Types.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

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

/// The outputs [lo, hi) of a window axis (0 <= lo <= hi <= out) whose
/// input coordinate o * stride - padBegin + offset lies in [0, in), for
/// offset = k * dilation of one window position k.
inline std::pair<int64_t, int64_t> outputsInside(int64_t in, int64_t out,
                                                 int64_t stride,
                                                 int64_t padBegin,
                                                 int64_t offset) {
  int64_t lo = std::clamp<int64_t>(ceilDiv(padBegin - offset, stride), 0, out);
  int64_t hi = floorDiv(in - 1 + padBegin - offset, stride) + 1;
  return {lo, std::clamp<int64_t>(hi, lo, out)};
}

/// The outputs [lo, hi) whose every window position lies inside the input
/// (kernels skip their bounds checks there).
inline std::pair<int64_t, int64_t>
interiorOutputs(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                int64_t padBegin, int64_t dilation) {
  int64_t lo = outputsInside(in, out, stride, padBegin, 0).first;
  int64_t hi =
      outputsInside(in, out, stride, padBegin, (kernel - 1) * dilation).second;
  return {lo, std::max(lo, hi)};
}

/// The product of dims [from, to) of `s` (1 when the range is empty).
inline int64_t product(const Shape &s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to; ++d)
    p *= s[d];
  return p;
}

} // namespace tcpu
