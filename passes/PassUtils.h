//===- PassUtils.h - Small helpers shared by passes -------------*- C++ -*-===//
#pragma once

#include "ir/Graph.h"

#include <unordered_map>

namespace tcpu {

/// Removes pure ops none of whose results is used, repeatedly, so chains of
/// dead ops go in one call. Returns whether anything was removed.
bool removeDeadOps(Graph &graph);

/// The constant tensor defining `v`, or nullptr.
const Tensor *constantValueOf(const Value *v);

/// True when `v` is a constant whose every element equals `x`.
bool isSplatConstant(const Value *v, double x);

/// A new f32 constant of `shape` holding `values` (rounded to f32 once),
/// inserted before `before`.
Value *newF32Constant(Graph &graph, Graph::OpList::iterator before, Shape shape,
                      const std::vector<double> &values, const Location &loc);

/// Uses of every value among operands and graph outputs.
std::unordered_map<const Value *, int> countAllUses(const Graph &graph);

} // namespace tcpu
