//===- Pipelines.cpp - The graph optimization levels -O0..-O3 --------------===//
#include "passes/Pipelines.h"

namespace tcpu {

namespace {

// Each level extends the one before; reads as a table of contents.
// fold runs first so that canonicalize sees the folded constants (x * 1
// where the 1 came from a computation); cse after the rewrites that create
// constants merges the duplicates they made; dce last.
const char *const kLevel1[] = {"fold", "canonicalize", "cse", "dce"};
const char *const kLevel2[] = {"fold", "canonicalize", "fold-batch-norm",
                               "cse", "dce"};
// -O2, then layouts (blocked convs take their bias, residual and
// activation before fuse-epilogue could; cse merges the conversions and
// constants they made) and fusion (epilogues into GEMM/conv stores, then
// the elementwise chains left). A new pass is one more name here.
const char *const kLevel3[] = {
    "fold", "canonicalize", "fold-batch-norm", "cse", "dce",
    "select-layout", "cse", "dce", "fuse-epilogue", "fuse-elementwise"};

/// The names joined by commas; select-layout gets its block.
template <size_t N>
std::string join(const char *const (&names)[N], int layoutBlock) {
  std::string s;
  for (const char *n : names) {
    s += (s.empty() ? "" : ",") + std::string(n);
    if (std::string_view(n) == "select-layout")
      s += "{block=" + std::to_string(layoutBlock) + "}";
  }
  return s;
}

} // namespace

absl::StatusOr<std::string> pipelineForLevel(int level, int layoutBlock) {
  switch (level) {
  case 0:
    return std::string();
  case 1:
    return join(kLevel1, layoutBlock);
  case 2:
    return join(kLevel2, layoutBlock);
  case 3:
    return join(kLevel3, layoutBlock);
  default:
    return absl::InvalidArgumentError("graph optimization level " +
                                      std::to_string(level) +
                                      " does not exist (0 to 3)");
  }
}

absl::StatusOr<std::vector<PipelineStep>> stepsForLevel(int level,
                                                        int layoutBlock) {
  absl::StatusOr<std::string> text = pipelineForLevel(level, layoutBlock);
  if (!text.ok())
    return text.status();
  return parsePipeline(*text);
}

absl::Status optimizeGraph(Graph &graph, int level,
                           const PipelineOptions &options, int layoutBlock) {
  absl::StatusOr<std::vector<PipelineStep>> steps =
      stepsForLevel(level, layoutBlock);
  if (!steps.ok())
    return steps.status();
  return runPipeline(graph, *steps, options);
}

} // namespace tcpu
