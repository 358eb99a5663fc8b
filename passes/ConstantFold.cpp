//===- ConstantFold.cpp - Constant folding through the interpreter ---------===//
//
// An op whose operands are all constants is evaluated with the reference
// interpreter and replaced by constants, in one forward sweep (so chains of
// foldable ops fold at once). Results larger than the `max-elements` option
// stay unfolded: folding an expand of a scalar into a huge tensor would trade
// a cheap op for a large weight. The folded ops, and the constants and other
// pure ops left unused, are removed at the end.
//
//===----------------------------------------------------------------------===//
#include "ir/Interpreter.h"
#include "passes/Pass.h"
#include "passes/PassUtils.h"

namespace tcpu {

absl::StatusOr<bool> runConstantFold(Graph &graph, const PassOptions &options) {
  if (absl::Status s = options.checkKnown("fold", {"max-elements"}); !s.ok())
    return s;
  absl::StatusOr<int64_t> maxElements =
      options.getInt("max-elements", int64_t{1} << 20);
  if (!maxElements.ok())
    return maxElements.status();

  bool changed = false;
  auto &ops = graph.ops();
  for (auto it = ops.begin(); it != ops.end(); ++it) {
    Op *op = it->get();
    if (op->kind() == OpKind::Constant || !op->info().hasTrait(kPure))
      continue;
    std::vector<const Tensor *> operands;
    bool allConstant = true;
    for (const Value *v : op->operands) {
      const Tensor *t = v ? constantValueOf(v) : nullptr;
      allConstant &= !v || t;
      operands.push_back(t);
    }
    int64_t resultElements = 0;
    for (const Value *r : op->results())
      resultElements += r->type.numElements();
    if (!allConstant || resultElements > *maxElements)
      continue;
    absl::StatusOr<std::vector<Tensor>> results = evaluateOp(*op, operands);
    // An op that fails at run time (say, a gather index out of range) is
    // left alone: the error belongs to whoever runs the graph.
    if (!results.ok())
      continue;
    for (size_t i = 0; i < results->size(); ++i) {
      Op *c = graph.createOp(OpKind::Constant, {}, {}, {op->result(i)->type},
                             op->loc, it);
      c->setConstantValue(std::move((*results)[i]));
      c->result()->name = op->result(i)->name;
      graph.replaceAllUsesWith(op->result(i), c->result());
    }
    changed = true;
  }
  if (changed)
    removeDeadOps(graph);
  return changed;
}

} // namespace tcpu
