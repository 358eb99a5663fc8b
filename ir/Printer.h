//===- Printer.h - Text form of the IR: printing ----------------*- C++ -*-===//
#pragma once

#include "ir/Graph.h"

#include <string>

namespace tcpu {

struct PrintOptions {
  /// Print every constant's data inline as dense<...> in the body, instead of
  /// a handle with the bytes in the trailing `blobs` section.
  bool inlineConstants = false;
  /// Constants with at most this many elements always print inline.
  int64_t inlineElementLimit = 16;
  /// Leave out the `blobs` section (the output then does not parse back to
  /// the same graph; for reading large models).
  bool elideBlobs = false;
};

/// The text form; parseGraph(printGraph(g)) gives back g, and printing that
/// gives the same text again.
std::string printGraph(const Graph &graph, const PrintOptions &options = {});

/// The text of a graph attribute (a `fused` body) as it follows its name:
/// `(%a: f32[4], ...) {`, one line per op, `return %v`, `}`. Op lines are
/// indented by `indent` + 2 spaces, the closing brace by `indent`; values
/// are named in their own scope; constants print inline.
std::string printBody(const Graph &body, int indent = 0);

} // namespace tcpu
