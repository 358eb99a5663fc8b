//===- Pipelines.h - The graph optimization levels -O0..-O3 ------*- C++ -*-===//
//
// One table says which passes each level runs (Pipelines.cpp), for
// tcpu-opt -O<n>, tcpu-run -O<n> and CompileOptions::graphOptLevel:
//   -O0  no graph passes: the graph runs as written;
//   -O1  local simplifications: fold, canonicalize, cse, dce;
//   -O2  -O1 plus fold-batch-norm;
//   -O3  -O2 plus select-layout (blocked conv activations), fuse-epilogue
//        and fuse-elementwise.
// These are graph levels; the LLVM level of the generated kernels is a
// separate setting (CompileOptions::optLevel).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/Pass.h"

#include <string>

namespace tcpu {

inline constexpr int kMaxGraphOptLevel = 3;

/// select-layout's channel block when no target is known; compile() passes
/// the target's f32 vector width instead (one block = one vector).
inline constexpr int kDefaultLayoutBlock = 8;

/// The pipeline text of `level` (a --pass-pipeline string; "" for -O0), or
/// an error for a level outside 0..3.
absl::StatusOr<std::string>
pipelineForLevel(int level, int layoutBlock = kDefaultLayoutBlock);

/// The parsed pipeline of `level`.
absl::StatusOr<std::vector<PipelineStep>>
stepsForLevel(int level, int layoutBlock = kDefaultLayoutBlock);

/// Runs the pipeline of `level` on `graph`.
absl::Status optimizeGraph(Graph &graph, int level,
                           const PipelineOptions &options = {},
                           int layoutBlock = kDefaultLayoutBlock);

} // namespace tcpu
