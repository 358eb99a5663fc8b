//===- Verifier.h - Graph verification --------------------------*- C++ -*-===//
#pragma once

#include "ir/Diagnostics.h"
#include "ir/Graph.h"

namespace tcpu {

/// Checks a whole graph and reports every problem found, not only the first:
/// operand counts, attributes, SSA order (operands defined before use),
/// inferred result types against the stored ones, rank and size limits,
/// constants, and outputs. Returns true when no error was reported.
bool verifyGraph(const Graph &graph, DiagnosticEngine &diags);

/// verifyGraph, with all errors in one status.
absl::Status verify(const Graph &graph);

/// Checks a type on its own: rank, non-negative dims, byte size that fits in
/// int64. Returns "" when fine, else the reason.
std::string checkTensorType(const TensorType &type);

/// Runs the op's type inference on operand types and attributes (defaults
/// filled in). The message of an error has no location.
absl::StatusOr<std::vector<TensorType>>
inferResultTypes(const OpInfo &info,
                 const std::vector<const TensorType *> &operands,
                 const Attributes &attrs);

} // namespace tcpu
