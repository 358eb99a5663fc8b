//===- Pass.h - Passes, the registry and pipelines --------------*- C++ -*-===//
//
// A pass is a function that rewrites a graph in place and says whether it
// changed anything. Passes are registered in Passes.def; a pipeline is a
// comma-separated list of registered names with optional {key=value,...}
// options, as in `tcpu-opt --pass-pipeline='fold{max-elements=4096},cse,dce'`.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "absl/status/statusor.h"

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace tcpu {

struct Remark;

/// Options given to one pass in a pipeline, e.g. {max-elements=4096}.
class PassOptions {
public:
  std::map<std::string, std::string> values;
  /// The integer option `key`, or `fallback` when absent; an error when the
  /// value is not an integer.
  absl::StatusOr<int64_t> getInt(const std::string &key,
                                 int64_t fallback) const;
  /// Error when an option other than `known` was given.
  absl::Status checkKnown(const std::string &passName,
                          const std::vector<std::string> &known) const;
};

using PassFn = absl::StatusOr<bool> (*)(Graph &graph,
                                        const PassOptions &options);

#define PASS(Name, Fn, Summary)                                                \
  absl::StatusOr<bool> Fn(Graph &graph, const PassOptions &options);
#include "passes/Passes.def"

struct PassInfo {
  std::string_view name;
  PassFn run;
  std::string_view summary;
};

/// Every registered pass, in Passes.def order.
const std::vector<PassInfo> &allPasses();
const PassInfo *lookupPass(std::string_view name);

struct PipelineStep {
  const PassInfo *pass;
  PassOptions options;
};

/// Parses "a,b{k=v,k2=v2},c"; unknown pass names are errors that list the
/// registered passes.
absl::StatusOr<std::vector<PipelineStep>> parsePipeline(std::string_view text);

struct PipelineOptions {
  /// Verify the graph after every pass (a failure names the pass).
  bool verifyEach = true;
  /// When set, the graph is printed here after every pass, with a header.
  std::ostream *printAfterEach = nullptr;
  /// When set, the passes' remarks (Remarks.h: what was rewritten, what was
  /// not and why) are appended here.
  std::vector<Remark> *remarks = nullptr;
};

absl::Status runPipeline(Graph &graph, const std::vector<PipelineStep> &steps,
                         const PipelineOptions &options = {});

} // namespace tcpu
