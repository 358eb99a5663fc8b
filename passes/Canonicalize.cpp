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
//     one reshape; transpose(transpose(x)) becomes one transpose;
//   - a chain of transposes and reshapes that only insert or remove size-1
//     dims, whose net effect keeps the other dims in order, is one reshape
//     (transposes that cancel across an unsqueeze, a transpose that only
//     moves size-1 dims);
//   - cast(cast(x, A), B) is cast(x, B), or x when B is x's dtype, when A
//     holds every value of x's dtype exactly and the two conversions agree
//     (ints converted through a float saturate where int-to-int casts wrap).
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

/// Whether every value of dtype `x` is exactly a value of dtype `a`.
bool holdsExactly(DType a, DType x) {
  if (a == x || x == DType::Bool)
    return true;
  switch (x) {
  case DType::I8:
  case DType::U8:
    // |v| <= 255 fits the 11-bit significand of f16 and the 8-bit one of
    // bf16.
    return a == DType::I32 || a == DType::I64 || isFloat(a);
  case DType::I32:
    return a == DType::I64;
  case DType::F16:
  case DType::BF16:
    return a == DType::F32;
  default:
    return false;
  }
}

/// For cast(cast(x, a), b) with holdsExactly(a, dtype(x)): whether it equals
/// cast(x, b). Casts from a float saturate to integers; casts from an
/// integer wrap: when a is a float and x an integer, the two agree only
/// when b is a float or bool, or holds x exactly (nothing to saturate).
bool castThroughAgrees(DType x, DType a, DType b) {
  return isFloat(x) == isFloat(a) || isFloat(b) || b == DType::Bool ||
         holdsExactly(b, x);
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
    return operandIf(x);
  case OpKind::Cast: {
    if (Value *v = operandIf(x))
      return v;
    // cast(cast(y, A), dtype(y)) with A holding y exactly.
    const Op *inner = x->definingOp();
    if (!inner || inner->kind() != OpKind::Cast)
      return nullptr;
    Value *y = inner->operand(0);
    return holdsExactly(x->type.dtype, y->type.dtype) ? operandIf(y) : nullptr;
  }
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

/// cast(cast(y, A), B) -> cast(y, B) in place, when that is exact.
bool skipExactInnerCast(Op &op) {
  Value *x = op.operand(0);
  Op *inner = x ? x->definingOp() : nullptr;
  if (!inner || inner->kind() != OpKind::Cast)
    return false;
  DType y = inner->operand(0)->type.dtype, a = x->type.dtype,
        b = op.result()->type.dtype;
  if (!holdsExactly(a, y) || !castThroughAgrees(y, a, b))
    return false;
  op.operands = {inner->operand(0)};
  return true;
}

/// Whether a reshape-like op only inserts or removes size-1 dims.
bool onlyMovesUnitDims(const Op &op) {
  auto nonUnit = [](const Shape &s) {
    Shape r;
    for (int64_t d : s)
      if (d != 1)
        r.push_back(d);
    return r;
  };
  return nonUnit(op.operand(0)->type.shape) == nonUnit(op.result()->type.shape);
}

/// The permutation of a transpose (reversed dims when `perm` is absent).
std::vector<int64_t> permOf(const Op &t) {
  if (t.attrs.has("perm"))
    return t.attrs.getInts("perm");
  std::vector<int64_t> p;
  for (int64_t i = t.operand(0)->type.rank() - 1; i >= 0; --i)
    p.push_back(i);
  return p;
}

/// For `op` ending a chain of transposes and reshape-like ops that only move
/// size-1 dims, with at least one transpose: the earliest value of the chain
/// of which op's result is a plain reshape (the non-unit dims stay in
/// order), or nullptr.
Value *reshapeSourceOfChain(const Op &op) {
  std::vector<const Op *> chain; // op first, going back
  bool sawTranspose = false;
  for (const Op *cur = &op; cur && chain.size() < 8; ) {
    bool transpose = cur->kind() == OpKind::Transpose;
    if (!transpose && !(isReshapeLike(cur->kind()) && onlyMovesUnitDims(*cur)))
      break;
    if (!cur->operand(0)->type.isPlain() || !cur->result()->type.isPlain())
      break;
    sawTranspose |= transpose;
    chain.push_back(cur);
    cur = cur->operand(0)->definingOp();
  }
  if (!sawTranspose)
    return nullptr;
  // The longest chain first: it removes the most ops.
  for (size_t k = chain.size(); k > 0; --k) {
    Value *source = chain[k - 1]->operand(0);
    // Label source's non-unit dims 0, 1, ... (-1 for size 1) and follow them.
    std::vector<int64_t> labels;
    int64_t next = 0;
    for (int64_t d : source->type.shape)
      labels.push_back(d == 1 ? -1 : next++);
    bool hasTranspose = false;
    for (size_t i = k; i-- > 0;) {
      const Op *c = chain[i];
      if (c->kind() == OpKind::Transpose) {
        hasTranspose = true;
        std::vector<int64_t> permuted;
        for (int64_t p : permOf(*c))
          permuted.push_back(labels[p]);
        labels = permuted;
      } else {
        std::vector<int64_t> order;
        for (int64_t l : labels)
          if (l >= 0)
            order.push_back(l);
        labels.clear();
        size_t j = 0;
        for (int64_t d : c->result()->type.shape)
          labels.push_back(d == 1 ? -1 : order[j++]);
      }
    }
    int64_t expect = 0;
    bool inOrder = true;
    for (int64_t l : labels)
      if (l >= 0)
        inOrder &= l == expect++;
    if (hasTranspose && inOrder)
      return source;
  }
  return nullptr;
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
      // A reshape of `source` to op's type in op's place takes op's uses.
      auto replaceWithReshape = [&](Value *source) {
        Attributes attrs;
        attrs.set("shape", op.result()->type.shape);
        Op *r = graph.createOp(OpKind::Reshape, {source}, attrs,
                               {op.result()->type}, op.loc, it);
        r->result()->name = op.result()->name;
        graph.replaceAllUsesWith(op.result(), r->result());
        roundChanged = true;
      };
      if (Value *v = forwardedValue(op)) {
        graph.replaceAllUsesWith(op.result(), v);
        roundChanged = true;
        continue;
      }
      if (isReshapeLike(op.kind()) && op.operand(0) &&
          op.operand(0)->definingOp() &&
          isReshapeLike(op.operand(0)->definingOp()->kind())) {
        replaceWithReshape(op.operand(0)->definingOp()->operand(0));
        continue;
      }
      if (Value *source = reshapeSourceOfChain(op)) {
        replaceWithReshape(source);
        continue;
      }
      if (op.kind() == OpKind::Transpose && mergeTransposes(op))
        roundChanged = true;
      if (op.kind() == OpKind::Cast && skipExactInnerCast(op))
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
