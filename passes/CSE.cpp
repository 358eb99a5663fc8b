//===- CSE.cpp - Common-subexpression elimination --------------------------===//
//
// Two pure ops of the same kind with the same operands (in the same order, or
// either order for commutative ops), attributes and result types compute the
// same values: uses of the later one are redirected to the earlier one.
// Constants merge when their types and bytes are identical. Dead ops are
// left for dce.
//
//===----------------------------------------------------------------------===//
#include "passes/Pass.h"

#include <functional>
#include <unordered_map>

namespace tcpu {

namespace {

size_t hashOp(const Op &op) {
  size_t h = std::hash<int>()(static_cast<int>(op.kind()));
  auto mix = [&h](size_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
  std::vector<const Value *> operands(op.operands.begin(), op.operands.end());
  if (op.info().hasTrait(kCommutative) && operands.size() == 2 &&
      std::less<const Value *>()(operands[1], operands[0]))
    std::swap(operands[0], operands[1]);
  for (const Value *v : operands)
    mix(std::hash<const void *>()(v));
  for (const Value *r : op.results())
    mix(std::hash<std::string>()(r->type.str()));
  for (const auto &[name, value] : op.attrs)
    mix(std::hash<std::string>()(name + "=" + attrValueToString(value)));
  if (const Tensor *t = op.constantValue())
    mix(std::hash<std::string_view>()(std::string_view(
        static_cast<const char *>(t->data()), t->byteSize())));
  return h;
}

bool sameComputation(const Op &a, const Op &b) {
  if (a.kind() != b.kind() || a.attrs != b.attrs ||
      a.numResults() != b.numResults())
    return false;
  for (size_t i = 0; i < a.numResults(); ++i)
    if (a.result(i)->type != b.result(i)->type)
      return false;
  bool sameOperands = a.operands == b.operands;
  if (!sameOperands && a.info().hasTrait(kCommutative) &&
      a.operands.size() == 2 && b.operands.size() == 2)
    sameOperands =
        a.operands[0] == b.operands[1] && a.operands[1] == b.operands[0];
  if (!sameOperands)
    return false;
  if (a.kind() == OpKind::Constant)
    return a.constantValue() && b.constantValue() &&
           a.constantValue()->identical(*b.constantValue());
  return true;
}

} // namespace

absl::StatusOr<bool> runCSE(Graph &graph, const PassOptions &options) {
  if (absl::Status s = options.checkKnown("cse", {}); !s.ok())
    return s;
  std::unordered_multimap<size_t, Op *> seen;
  bool changed = false;
  for (auto &opPtr : graph.ops()) {
    Op *op = opPtr.get();
    if (!op->info().hasTrait(kPure))
      continue;
    size_t h = hashOp(*op);
    Op *match = nullptr;
    auto [lo, hi] = seen.equal_range(h);
    for (auto it = lo; it != hi && !match; ++it)
      if (sameComputation(*it->second, *op))
        match = it->second;
    if (!match) {
      seen.emplace(h, op);
      continue;
    }
    for (size_t i = 0; i < op->numResults(); ++i)
      graph.replaceAllUsesWith(op->result(i), match->result(i));
    changed = true;
  }
  return changed;
}

} // namespace tcpu
