//===- MemoryPlan.h - Static memory plan of a graph --------------*- C++ -*-===//
//
// Every intermediate value (a result of a non-constant op that is not a
// graph output) gets an offset in one arena. A value is live from the op
// that defines it to its last use; values whose live ranges intersect never
// overlap in the arena. Offsets are chosen first-fit in definition order, so
// the peak is known at compile time. Graph inputs, outputs and constants are
// not in the arena. No LLVM here.
//
// Two options let values share a buffer outright (MemoryPlanOptions):
// - in place: the result of an elementwise op (or a fused elementwise
//   tree) may be written into the buffer of an operand that dies at that
//   op, when the operand has the result's shape and element size (so
//   kernels read element i before writing element i, and nothing else reads
//   the buffer later);
// - aliases: the result of reshape, squeeze, unsqueeze or flatten is its
//   operand's bytes; the op then needs no kernel at all (aliasOps). When
//   that result is a graph output and the operand has no other use, the
//   operand is computed in the output's buffer instead (outputAliases).
// A buffer shared this way lives until the last use of any value in it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tcpu {

struct MemoryPlanOptions {
  /// Elementwise results reuse the buffer of a dying same-shape operand.
  bool inPlace = false;
  /// Reshape-like results share their operand's buffer (no copy).
  bool aliasReshapes = false;
  int64_t alignment = 64;
};

struct PlannedBuffer {
  const Value *value = nullptr; // the first value stored in it
  /// Values that share it later, in definition order (in place or alias).
  std::vector<const Value *> sharers;
  int64_t offset = 0;
  int64_t size = 0;  // bytes, rounded up to the alignment
  int firstOp = 0;   // index (in graph order) of the defining op
  int lastOp = 0;    // index of the last op that reads any of its values
};

struct MemoryPlan {
  std::vector<PlannedBuffer> buffers;
  /// The offset of every value in the arena (sharers included).
  std::unordered_map<const Value *, int64_t> offsets;
  /// Reshape-like ops whose result aliases their operand: nothing to run.
  std::unordered_set<const Op *> aliasOps;
  /// Values stored straight into the output buffer of the graph output
  /// that a reshape-like op makes of them (that op is then in aliasOps):
  /// value -> that output. They have no arena offset.
  std::unordered_map<const Value *, const Value *> outputAliases;
  /// Elementwise ops that write into an operand's buffer.
  std::unordered_set<const Op *> inPlaceOps;
  int64_t peakBytes = 0;   // arena size
  int64_t totalBytes = 0;  // sum of all buffer sizes (no reuse across time)
  /// An allocate-every-intermediate plan: the sum of the (aligned) sizes of
  /// all values placed in the arena, shared or not. The baseline peakBytes
  /// is measured against.
  int64_t naiveBytes = 0;
  int64_t alignment = 64;
};

/// Plans the arena of `graph` (ops in execution order).
MemoryPlan planMemory(const Graph &graph, const MemoryPlanOptions &options);
/// Liveness reuse only (no in-place, no aliases).
inline MemoryPlan planMemory(const Graph &graph, int64_t alignment = 64) {
  return planMemory(graph, MemoryPlanOptions{false, false, alignment});
}

} // namespace tcpu
