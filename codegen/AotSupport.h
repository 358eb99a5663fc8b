//===- AotSupport.h - Shared pieces of the AOT emitter ----------*- C++ -*-===//
//
// What the object emitter (Aot.cpp) and the header writer (AotHeader.cpp)
// must agree on: the entry point's name and where each constant lives in
// the weights file. Internal to codegen/. No LLVM here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Aot.h"
#include "codegen/MemoryPlan.h"
#include "codegen/PackedConstant.h"
#include "codegen/Target.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace tcpu {

/// The weights file of a graph: one 64-byte aligned block per constant op
/// (graph order) after the header of runtime/AotRuntime.h, then one per
/// constant the lowering packed (LoweredGraph::packedConstants, in order).
struct WeightsLayout {
  std::vector<const Value *> constants;
  std::vector<uint64_t> offsets; // from the start of the file
  /// Whether constant i's bytes are in the file: not when the code reads
  /// only packed copies of it (its offset then holds no bytes of its own).
  std::vector<bool> stored;
  std::vector<std::shared_ptr<const PackedConstant>> packed;
  std::vector<uint64_t> packedOffsets;
  uint64_t fileBytes = 0;
  uint64_t fingerprint = 0;      // never 0 (0 means "unchecked")
};
/// `read[i]`: whether the code reads constant i (graph order) itself;
/// empty: every constant is read.
WeightsLayout layoutWeights(
    const Graph &graph,
    const std::vector<std::shared_ptr<const PackedConstant>> &packed = {},
    const std::vector<bool> &read = {});

/// The layout of the weights file of `graph` compiled with `options`: its
/// packed constants come from lowering it for the options' target.
/// (Aot.cpp.)
absl::StatusOr<WeightsLayout> aotWeightsLayout(const Graph &graph,
                                               const AotOptions &options);

/// Writes the weights file of layout `w` to `path`.
absl::Status writeWeightsFile(const WeightsLayout &w, const std::string &path);

/// The entry prefix of `options` for `graph` (see AotOptions::entryPrefix).
absl::StatusOr<std::string> aotEntryPrefix(const Graph &graph,
                                           const AotOptions &options);

/// The C header (AotEmitKind::Header).
std::string aotHeader(const Graph &graph, const AotOptions &options,
                      const std::string &prefix, const TargetDescription &target,
                      const MemoryPlan &plan, const WeightsLayout &weights);

} // namespace tcpu
