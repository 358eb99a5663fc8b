//===- Prepack.h - GEMM operands that are constants, packed once -*- C++ -*-===//
//
// A GEMM operand defined by an f32 `constant` (a weight) is packed into the
// panels of its kernel at compile time (Gemm.h prepackA/prepackB) and the
// op's operand is replaced by the packed copy
// (LoweringContext::replaceOperand): runs no longer re-pack it. Use:
//
//   GemmOptions o;
//   o.prepackedB = prepackable(ctx, 1);
//   kernel = emitGemmFunction(..., o);
//   if (o.prepackedB) prepackOperand(ctx, 1, shape, kernel->blocking, ...);
//   ... ctx.operandPtr(1) now points at the panels.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Gemm.h"
#include "codegen/Lowering.h"

namespace tcpu {

/// Whether operand i of the op is an f32 constant holding at least
/// `floats` elements (enough for the matrices a lowering would pack).
bool prepackable(const LoweringContext &ctx, int operand, int64_t floats = 0);

/// Packs `count` matrices of operand `operand` (an f32 constant; the first
/// at element `first`, each `srcStride` floats after the previous) as the
/// A (`asA`) or B operand of `shape` with `blocking`, one after the other,
/// and replaces the operand by them. Returns the floats between two packed
/// matrices (prepackedAFloats/prepackedBFloats of the shape).
int64_t prepackOperand(LoweringContext &ctx, int operand, bool asA,
                       const GemmShape &shape, const GemmBlocking &blocking,
                       int64_t count = 1, int64_t srcStride = 0,
                       int64_t first = 0);

} // namespace tcpu
