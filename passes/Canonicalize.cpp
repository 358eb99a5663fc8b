//===- Canonicalize.cpp - Local simplifications ----------------------------===//
//
// Rewrites to a fixpoint, then removes dead ops:
//   - identity ops: reshape/flatten/squeeze/expand to the same shape, identity
//     transpose, cast to the same dtype, single-input concat, zero pad, slice
//     that keeps everything;
//   - x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1 when the constant does not
//     broadcast x to a larger type (x + 0.0 turns -0.0 into +0.0; we accept
//     that, as every DL compiler does);
//   - neg(neg(x)) -> x;
//   - chains of reshape-like ops (reshape, flatten, squeeze, unsqueeze) become
//     one reshape; transpose(transpose(x)) becomes one transpose.
// Safe on any verified graph: every rewrite keeps each value's type.
//
//===----------------------------------------------------------------------===//
#include "passes/Pass.h"
#include "passes/PassUtils.h"

namespace tcpu {

namespace {

bool isReshapeLike(OpKind k) {
  return k == OpKind::Reshape || k == OpKind::Flatten ||
         k == OpKind::Squeeze || k == OpKind::Unsqueeze;
}

bool allZero(const std::vector<int64_t> &v) {
  for (int64_t x : v)
    if (x != 0)
      return false;
  return true;
}

/// The value an identity-like op forwards unchanged, or nullptr.
Value *forwardedValue(const Op &op) {
  Value *x = op.operand(0);
  if (!x || op.numResults() != 1)
    return nullptr;
  const TensorType &out = op.result()->type;
  auto operandIf = [&](Value *v) -> Value * {
    return v && v->type == out ? v : nullptr;
  };
  switch (op.kind()) {
  case OpKind::Reshape:
  case OpKind::Flatten:
  case OpKind::Squeeze:
  case OpKind::Unsqueeze:
  case OpKind::Expand:
  case OpKind::Cast:
    return operandIf(x);
  case OpKind::Transpose: {
    std::vector<int64_t> perm = op.attrs.getInts("perm");
    if (!op.attrs.has("perm"))
      return x->type.rank() <= 1 ? operandIf(x) : nullptr;
    for (size_t i = 0; i < perm.size(); ++i)
      if (perm[i] != static_cast<int64_t>(i))
        return nullptr;
    return operandIf(x);
  }
  case OpKind::Concat:
    return op.operands.size() == 1 ? operandIf(x) : nullptr;
  case OpKind::Pad:
    return allZero(op.attrs.getInts("pads")) ? operandIf(x) : nullptr;
  case OpKind::Slice: {
    for (int64_t s : op.attrs.getInts("steps", {}))
      if (s != 1)
        return nullptr;
    // With unit steps, keeping every element means keeping them in place.
    return operandIf(x);
  }
  case OpKind::Neg: {
    const Op *inner = x->definingOp();
    return inner && inner->kind() == OpKind::Neg ? operandIf(inner->operand(0))
                                                 : nullptr;
  }
  case OpKind::Add:
    if (isSplatConstant(op.operand(1), 0))
      return operandIf(op.operand(0));
    if (isSplatConstant(op.operand(0), 0))
      return operandIf(op.operand(1));
    return nullptr;
  case OpKind::Mul:
    if (isSplatConstant(op.operand(1), 1))
      return operandIf(op.operand(0));
    if (isSplatConstant(op.operand(0), 1))
      return operandIf(op.operand(1));
    return nullptr;
  case OpKind::Sub:
    return isSplatConstant(op.operand(1), 0) ? operandIf(op.operand(0))
                                             : nullptr;
  case OpKind::Div:
    return isSplatConstant(op.operand(1), 1) ? operandIf(op.operand(0))
                                             : nullptr;
  default:
    return nullptr;
  }
}

/// transpose(transpose(x, p1), p2) -> transpose(x, p1 o p2), in place.
bool mergeTransposes(Op &op) {
  Value *x = op.operand(0);
  Op *inner = x ? x->definingOp() : nullptr;
  if (!inner)
    return false;
  if (op.kind() == OpKind::Transpose && inner->kind() == OpKind::Transpose) {
    int64_t rank = x->type.rank();
    auto permOf = [rank](const Op &t) {
      std::vector<int64_t> p = t.attrs.getInts("perm");
      if (!t.attrs.has("perm"))
        for (int64_t i = rank - 1; i >= 0; --i)
          p.push_back(i);
      return p;
    };
    std::vector<int64_t> outer = permOf(op), first = permOf(*inner), combined;
    for (int64_t p : outer)
      combined.push_back(first[p]);
    op.operands = {inner->operand(0)};
    op.attrs.set("perm", combined);
    return true;
  }
  return false;
}

} // namespace

absl::StatusOr<bool> runCanonicalize(Graph &graph, const PassOptions &options) {
  if (absl::Status s = options.checkKnown("canonicalize", {}); !s.ok())
    return s;
  bool changed = false;
  // Each rewrite removes an op or shortens a chain, so this terminates; the
  // bound only guards against a pattern bug.
  for (int round = 0; round < 64; ++round) {
    bool roundChanged = false;
    auto &ops = graph.ops();
    for (auto it = ops.begin(); it != ops.end(); ++it) {
      Op &op = **it;
      if (Value *v = forwardedValue(op)) {
        graph.replaceAllUsesWith(op.result(), v);
        roundChanged = true;
        continue;
      }
      if (isReshapeLike(op.kind()) && op.operand(0) &&
          op.operand(0)->definingOp() &&
          isReshapeLike(op.operand(0)->definingOp()->kind())) {
        // Build a reshape in op's place and forward op's uses to it.
        Value *source = op.operand(0)->definingOp()->operand(0);
        Attributes attrs;
        attrs.set("shape", op.result()->type.shape);
        Op *r = graph.createOp(OpKind::Reshape, {source}, attrs,
                               {op.result()->type}, op.loc, it);
        r->result()->name = op.result()->name;
        graph.replaceAllUsesWith(op.result(), r->result());
        roundChanged = true;
        continue;
      }
      if (op.kind() == OpKind::Transpose && mergeTransposes(op))
        roundChanged = true;
    }
    roundChanged |= removeDeadOps(graph);
    changed |= roundChanged;
    if (!roundChanged)
      break;
  }
  return changed;
}

} // namespace tcpu
