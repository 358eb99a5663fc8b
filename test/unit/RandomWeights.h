//===- RandomWeights.h - Random constants for test graphs -------*- C++ -*-===//
//
// Graphs built in tests (GraphBuilder) with random weights and batch_norm
// statistics, so that passes and kernels see non-trivial values.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Builder.h"

#include <random>

namespace tcpu::testsupport {

/// A f32 constant of shape `s` with values uniform in [lo, hi).
inline Value *randomConstant(GraphBuilder &b, std::mt19937_64 &rng, Shape s,
                             double lo, double hi) {
  Tensor t = Tensor::allocate(TensorType(DType::F32, std::move(s))).value();
  std::uniform_real_distribution<double> d(lo, hi);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setElementFromDouble(i, d(rng));
  return b.constant(t);
}

/// batch_norm of `x` (c channels) with random scale, bias, mean and a
/// positive variance.
inline Value *randomBatchNorm(GraphBuilder &b, std::mt19937_64 &rng, Value *x,
                              int64_t c) {
  return b
      .batchNorm({x, randomConstant(b, rng, {c}, 0.5, 2),
                  randomConstant(b, rng, {c}, -1, 1),
                  randomConstant(b, rng, {c}, -0.5, 0.5),
                  randomConstant(b, rng, {c}, 0.1, 3)})
      .value();
}

} // namespace tcpu::testsupport
