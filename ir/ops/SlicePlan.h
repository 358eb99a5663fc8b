//===- SlicePlan.h - Where a slice reads from ------------------*- C++ -*-===//
//
// The normalization of a slice's starts, ends, axes and steps (ONNX rules:
// negative values count from the end, then clamping), shared by the
// reference semantics (ir/ops/Shape.cpp) and the lowering
// (codegen/lower/DataMovement.cpp), so that both read the same elements.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Attributes.h"
#include "ir/Types.h"

#include "absl/status/statusor.h"

namespace tcpu::ops {

/// Per axis of the input: first source coordinate, step, result size.
struct SlicePlan {
  Shape start, step, shape;
};

/// The plan of a slice of `x` with attributes `attrs` (starts, ends, and
/// optional axes and steps); an InvalidArgument error names what is wrong.
absl::StatusOr<SlicePlan> planSlice(const TensorType &x, const Attributes &attrs);

} // namespace tcpu::ops
