//===- PassUtils.cpp - Small helpers shared by passes ----------------------===//
#include "passes/PassUtils.h"

namespace tcpu {

std::unordered_map<const Value *, int> countAllUses(const Graph &graph) {
  std::unordered_map<const Value *, int> uses;
  for (const auto &op : graph.ops())
    for (const Value *v : op->operands)
      if (v)
        ++uses[v];
  for (const GraphOutput &out : graph.outputs())
    ++uses[out.value];
  return uses;
}

bool removeDeadOps(Graph &graph) {
  std::unordered_map<const Value *, int> uses = countAllUses(graph);
  bool changed = false;
  auto &ops = graph.ops();
  // Walking backwards sees users before producers, so a dead chain goes at
  // once.
  for (auto it = ops.end(); it != ops.begin();) {
    --it;
    Op *op = it->get();
    if (!op->info().hasTrait(kPure))
      continue;
    bool dead = true;
    for (const Value *r : op->results())
      dead &= uses[r] == 0;
    if (!dead)
      continue;
    for (const Value *v : op->operands)
      if (v)
        --uses[v];
    it = ops.erase(it);
    changed = true;
  }
  return changed;
}

Value *newF32Constant(Graph &graph, Graph::OpList::iterator before, Shape shape,
                      const std::vector<double> &values, const Location &loc) {
  Tensor t = Tensor::allocate(TensorType(DType::F32, std::move(shape))).value();
  for (size_t i = 0; i < values.size(); ++i)
    t.setElementFromDouble(static_cast<int64_t>(i), values[i]);
  Op *c = graph.createOp(OpKind::Constant, {}, {}, {t.type()}, loc, before);
  c->setConstantValue(std::move(t));
  return c->result();
}

const Tensor *constantValueOf(const Value *v) {
  if (!v || !v->definingOp() || v->definingOp()->kind() != OpKind::Constant)
    return nullptr;
  return v->definingOp()->constantValue();
}

bool isSplatConstant(const Value *v, double x) {
  const Tensor *t = constantValueOf(v);
  if (!t)
    return false;
  for (int64_t i = 0, n = t->numElements(); i < n; ++i)
    if (t->elementAsDouble(i) != x)
      return false;
  return true;
}

} // namespace tcpu
