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
#include "codegen/Target.h"

#include <cstdint>
#include <vector>

namespace tcpu {

/// The weights file of a graph: one 64-byte aligned block per constant op
/// (graph order) after the header of runtime/AotRuntime.h.
struct WeightsLayout {
  std::vector<const Value *> constants;
  std::vector<uint64_t> offsets; // from the start of the file
  uint64_t fileBytes = 0;
  uint64_t fingerprint = 0;      // never 0 (0 means "unchecked")
};
WeightsLayout layoutWeights(const Graph &graph);

/// The entry prefix of `options` for `graph` (see AotOptions::entryPrefix).
absl::StatusOr<std::string> aotEntryPrefix(const Graph &graph,
                                           const AotOptions &options);

/// The C header (AotEmitKind::Header).
std::string aotHeader(const Graph &graph, const AotOptions &options,
                      const std::string &prefix, const TargetDescription &target,
                      const MemoryPlan &plan, const WeightsLayout &weights);

} // namespace tcpu
