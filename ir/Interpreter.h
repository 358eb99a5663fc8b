//===- Interpreter.h - Reference interpreter --------------------*- C++ -*-===//
//
// Evaluates a verified graph op by op with the reference semantics of the op
// table. It is deliberately simple: it is the oracle that every optimization
// and every compiled kernel is checked against.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "ir/Tensor.h"

#include "absl/status/statusor.h"

#include <vector>

namespace tcpu {

/// Runs `graph` on `inputs` (in the order of graph.inputs()). Checks the
/// count, dtypes and shapes of the inputs and names the offending input.
absl::StatusOr<std::vector<Tensor>> interpret(const Graph &graph,
                                              const std::vector<Tensor> &inputs);

/// Evaluates one op on operand tensors (nullptr for absent operands).
absl::StatusOr<std::vector<Tensor>>
evaluateOp(const Op &op, const std::vector<const Tensor *> &operands);

/// Checks that `given` can be passed where `expected` is declared; the
/// message names `what` (e.g. "input 'x'").
absl::Status checkArgumentType(const std::string &what,
                               const TensorType &expected,
                               const TensorType &given);

} // namespace tcpu
