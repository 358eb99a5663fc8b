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

} // namespace tcpu
