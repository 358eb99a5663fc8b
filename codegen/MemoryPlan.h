//===- MemoryPlan.h - Static memory plan of a graph --------------*- C++ -*-===//
//
// Every intermediate value (a result of a non-constant op that is not a
// graph output) gets an offset in one arena. A value is live from the op
// that defines it to its last use; values whose live ranges intersect never
// overlap in the arena. Offsets are chosen first-fit in definition order, so
// the peak is known at compile time. Graph inputs, outputs and constants are
// not in the arena. No LLVM here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace tcpu {

struct PlannedBuffer {
  const Value *value = nullptr;
  int64_t offset = 0;
  int64_t size = 0;  // bytes, rounded up to the alignment
  int firstOp = 0;   // index (in graph order) of the defining op
  int lastOp = 0;    // index of the last op that reads it (>= firstOp)
};

struct MemoryPlan {
  std::vector<PlannedBuffer> buffers;
  std::unordered_map<const Value *, int64_t> offsets;
  int64_t peakBytes = 0;   // arena size
  int64_t totalBytes = 0;  // sum of all buffer sizes (no reuse)
  int64_t alignment = 64;
};

/// Plans the arena of `graph` (ops in execution order).
MemoryPlan planMemory(const Graph &graph, int64_t alignment = 64);

} // namespace tcpu
