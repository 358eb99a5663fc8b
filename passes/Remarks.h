//===- Remarks.h - What passes did, and what they did not and why -*- C++ -*-===//
//
// A remark is one line of a pass report, as LLVM's -pass-remarks: "applied"
// for a rewrite made, "missed" for a candidate left alone, with the reason
// (a conv whose result has another user, a non-constant BatchNorm mean...).
// Passes report through remark(); runPipeline collects them into
// PipelineOptions::remarks while it runs, so pass signatures need no extra
// parameter. Outside a collecting pipeline remark() is a no-op.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include <string>
#include <string_view>
#include <vector>

namespace tcpu {

struct Remark {
  enum Kind { Applied, Missed };
  Kind kind = Applied;
  std::string pass;
  std::string message;

  /// "fold-batch-norm: applied: batch_norm %bn folded into conv2d %c".
  std::string str() const;
};

/// Records a remark for the pipeline collecting on this thread, if any.
void remark(Remark::Kind kind, std::string_view pass, std::string message);
/// Whether a pipeline on this thread collects remarks (lets passes skip
/// building messages nobody reads).
bool remarksEnabled();

/// "conv2d %c" (the op's first result name), or "conv2d at FILE:L:C" for an
/// unnamed result: how remarks name an op.
std::string remarkName(const Op &op);

/// Collects the remarks of this thread into `sink` for its lifetime
/// (nesting restores the outer collector).
class RemarkCollector {
public:
  explicit RemarkCollector(std::vector<Remark> *sink);
  ~RemarkCollector();
  RemarkCollector(const RemarkCollector &) = delete;
  RemarkCollector &operator=(const RemarkCollector &) = delete;

private:
  std::vector<Remark> *previous_;
};

} // namespace tcpu
