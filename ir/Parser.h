//===- Parser.h - Text form of the IR: parsing ------------------*- C++ -*-===//
//
// Reads the text form (see ir/TextFormat.md). Syntax errors stop the parse
// with one located error; semantic errors (undefined or redefined values,
// unknown attributes, type mismatches) are all collected, and the verifier
// runs on the result, so one run reports every problem in a graph.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Diagnostics.h"
#include "ir/Graph.h"

#include <memory>
#include <string>
#include <string_view>

namespace tcpu {

struct ParseOptions {
  /// Name used in locations ("file.tir").
  std::string bufferName = "<input>";
  /// Added to every reported line number: the line of the buffer's first
  /// line in the original file, minus one (for --split-input-file).
  int lineOffset = 0;
  /// Run the verifier after parsing (on by default).
  bool verify = true;
};

/// Parses one graph (and its optional trailing `blobs` section) from `text`.
/// Returns nullptr when there were errors; they are in `diags`.
std::unique_ptr<Graph> parseGraph(std::string_view text,
                                  const ParseOptions &options,
                                  DiagnosticEngine &diags);

/// Convenience: parse and verify, all errors in one status.
absl::StatusOr<std::unique_ptr<Graph>>
parseGraph(std::string_view text, std::string bufferName = "<input>");

/// Reads a file and parses it.
absl::StatusOr<std::unique_ptr<Graph>> parseGraphFile(const std::string &path);

/// Checks that `text` is text: no NUL bytes, valid UTF-8. Returns "" when it
/// is, else the reason; `line`/`col` (1-based) say where.
std::string checkIsText(std::string_view text, int &line, int &col);

} // namespace tcpu
