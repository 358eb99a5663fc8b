//===- DCE.cpp - Dead-code elimination -------------------------------------===//
//
// Removes pure ops whose results are used neither by another op nor as a
// graph output. Needs nothing; safe on any verified graph.
//
//===----------------------------------------------------------------------===//
#include "passes/Pass.h"
#include "passes/PassUtils.h"

namespace tcpu {

absl::StatusOr<bool> runDCE(Graph &graph, const PassOptions &options) {
  if (absl::Status s = options.checkKnown("dce", {}); !s.ok())
    return s;
  return removeDeadOps(graph);
}

} // namespace tcpu
