//===- Epilogue.h - Elementwise work applied at a conv's store ---*- C++ -*-===//
//
// The entry point through which codegen/lower/Fused.cpp lowers a fused
// epilogue whose first op is a conv2d: the conv lowering (lower/Conv.cpp)
// runs as usual and calls `apply` on every vector of results before it
// stores it, in the GEMM's store (GemmEpilogue::custom) or in the direct
// depthwise kernel.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Lowering.h"

#include <functional>
#include <string>
#include <vector>

namespace tcpu {

struct ConvEpilogue {
  /// Operand i of the conv is operand operands[i] of ctx.op() (-1: absent);
  /// the conv's result is ctx.op()'s result 0.
  std::vector<int> operands;
  /// Emitted with ctx's builder before the results of image n, channel
  /// group g and pixels from `first` on (i64 values) are computed; its value
  /// reaches `apply` as `data`. The conv may compute a (n, g)'s pixels in
  /// blocks: `apply`'s pixel is then relative to the block's first.
  std::function<llvm::Value *(llvm::Value *n, llvm::Value *g,
                              llvm::Value *first)>
      prepare;
  /// Elementwise IR on `v` (f32, a scalar or a vector), the results at
  /// output channel `channel` of the group and pixels first + pixel,
  /// first + pixel + 1, ... (oh * OW + ow); returns what is stored. `mask` is null when every lane
  /// is stored, else the <W x i1> lanes that are (GemmEpilogue::custom).
  /// Emitted with `b`, in a function of its own for a GEMM (so only `data`
  /// and constants may be used, not values of the kernel).
  std::function<llvm::Value *(llvm::IRBuilderBase &b, llvm::Value *v,
                              llvm::Value *channel, llvm::Value *pixel,
                              llvm::Value *mask, llvm::Value *data)>
      apply;
  /// The operands of ctx.op() that `apply` reads (a weight among them must
  /// not be replaced by a packed copy).
  std::vector<int> readOperands;
  /// Identifies the code `apply` emits: convs with equal keys share their
  /// GEMM core (GemmEpilogue::customKey).
  std::string key;
};

/// conv2d `conv` (an op of ctx.op()'s fused body) with `epilogue`; the same
/// cases as lowerConv2d are lowered, the others are Unimplemented.
absl::Status lowerConv2dWithEpilogue(const Op &conv, LoweringContext &ctx,
                                     const ConvEpilogue &epilogue);

} // namespace tcpu
