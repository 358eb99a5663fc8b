//===- FoldBatchNorm.cpp - BatchNorm folded into the preceding conv/gemm ---===//
//
// batch_norm(y) = y * s + t per channel c (axis 1), with
// s = scale / sqrt(var + eps) and t = bias - mean * s. When y is the only
// use of a conv2d, linear, gemm or matmul result whose weights are
// constants, s goes into the weights (output channel c scaled) and t into the
// bias, and the batch_norm disappears (matmul has no bias: it gets an add of
// t). The new weights are computed in double from the f32 ones and rounded
// once. Every candidate not folded gets a "missed" remark with the reason.
// Requires a verified graph; f32 only; safe on any graph (it never changes
// a value that has another user, and never edits a shared constant).
//
//===----------------------------------------------------------------------===//
#include "passes/Pass.h"
#include "passes/PassUtils.h"
#include "passes/Remarks.h"

#include <cmath>

namespace tcpu {

namespace {

constexpr std::string_view kPass = "fold-batch-norm";

/// Per-channel s and t of a batch_norm with constant f32 parameters.
struct Affine {
  std::vector<double> s, t;
};

/// The affine form of `bn`, or the reason it has none.
absl::StatusOr<Affine> affineOf(const Op &bn) {
  static const char *names[] = {"x", "scale", "bias", "mean", "var"};
  const Tensor *p[5] = {};
  for (int i = 1; i < 5; ++i) {
    p[i] = constantValueOf(bn.operand(i));
    if (!p[i])
      return absl::FailedPreconditionError(std::string("its ") + names[i] +
                                           " is not a constant");
    if (p[i]->dtype() != DType::F32)
      return absl::FailedPreconditionError(
          std::string("its ") + names[i] + " is " +
          std::string(dtypeName(p[i]->dtype())) + " (only f32 is folded)");
  }
  double eps = bn.attrs.getFloat("epsilon", 1e-5);
  Affine a;
  for (int64_t c = 0, n = p[1]->numElements(); c < n; ++c) {
    double v = p[4]->elementAsDouble(c) + eps;
    // A zero or negative variance makes the original op produce inf/NaN in
    // patterns that folding would not reproduce exactly.
    if (!(v > 0) || !std::isfinite(v))
      return absl::FailedPreconditionError(
          "var + epsilon of channel " + std::to_string(c) +
          " is not a positive finite number");
    double s = p[1]->elementAsDouble(c) / std::sqrt(v);
    double t = p[2]->elementAsDouble(c) - p[3]->elementAsDouble(c) * s;
    if (!std::isfinite(s) || !std::isfinite(t))
      return absl::FailedPreconditionError("the scale of channel " +
                                           std::to_string(c) +
                                           " is not finite");
    a.s.push_back(s);
    a.t.push_back(t);
  }
  return a;
}

absl::Status missed(std::string why) {
  return absl::FailedPreconditionError(std::move(why));
}

/// A constant f32 tensor of plain layout, or nullptr.
const Tensor *constantF32(const Value *v) {
  const Tensor *t = constantValueOf(v);
  return t && t->dtype() == DType::F32 && t->type().isPlain() ? t : nullptr;
}

/// `w` with output channel `c` scaled by s[c]; the channel of element i is
/// (i / inner) % channels.
std::vector<double> scaled(const Tensor &w, const std::vector<double> &s,
                           int64_t inner) {
  std::vector<double> out(static_cast<size_t>(w.numElements()));
  int64_t channels = static_cast<int64_t>(s.size());
  for (int64_t i = 0, n = w.numElements(); i < n; ++i)
    out[i] = w.elementAsDouble(i) * s[(i / inner) % channels];
  return out;
}

/// Folds `bn` into the op producing its input; an error status says why not.
absl::Status fold(Graph &graph, Op &bn, Graph::OpList::iterator bnIt) {
  Value *y = bn.operand(0);
  Op *producer = y->definingOp();
  if (!producer)
    return missed("its input is a graph input");
  OpKind kind = producer->kind();
  if (kind != OpKind::Conv2d && kind != OpKind::Linear &&
      kind != OpKind::Gemm && kind != OpKind::Matmul)
    return missed("its input comes from " + remarkName(*producer) +
                  ", not a conv2d, linear, gemm or matmul");
  if (graph.countUses(y) != 1)
    return missed("the result of " + remarkName(*producer) +
                  " has other users (an op or a graph output)");
  if (y->type.dtype != DType::F32 || !y->type.isPlain())
    return missed("only plain-layout f32 is folded, got " + y->type.str());
  absl::StatusOr<Affine> affine = affineOf(bn);
  if (!affine.ok())
    return affine.status();
  const std::vector<double> &s = affine->s, &t = affine->t;
  int64_t channels = static_cast<int64_t>(s.size());

  Value *weightValue = producer->operand(1);
  const Tensor *w = constantF32(weightValue);
  if (!w)
    return missed("the weights of " + remarkName(*producer) +
                  " are not a plain f32 constant");
  if (y->type.rank() != 2 && kind != OpKind::Conv2d)
    return missed("the batch_norm channels (axis 1 of " + y->type.str() +
                  ") are not the output features of " + remarkName(*producer));
  auto before = graph.find(producer);
  const Location &loc = bn.loc;

  // The bias of conv2d and linear (operand 2, optional): b * s + t.
  auto foldedBias = [&]() -> absl::StatusOr<std::vector<double>> {
    std::vector<double> b = t;
    if (Value *bias = producer->operand(2)) {
      const Tensor *bt = constantF32(bias);
      if (!bt)
        return missed("the bias of " + remarkName(*producer) +
                      " is not a plain f32 constant");
      for (int64_t c = 0; c < channels; ++c)
        b[c] += bt->elementAsDouble(c) * s[c];
    }
    return b;
  };

  switch (kind) {
  case OpKind::Conv2d:
  case OpKind::Linear: {
    // Weights [out, ...]: the output channel is the leading axis.
    absl::StatusOr<std::vector<double>> b = foldedBias();
    if (!b.ok())
      return b.status();
    int64_t inner = w->numElements() / std::max<int64_t>(channels, 1);
    Value *nw =
        newF32Constant(graph, before, w->shape(), scaled(*w, s, inner), loc);
    Value *nb = newF32Constant(graph, before, {channels}, *b, loc);
    producer->operands.resize(3);
    producer->operands[1] = nw;
    producer->operands[2] = nb;
    graph.replaceAllUsesWith(bn.result(), y);
    return absl::OkStatus();
  }
  case OpKind::Gemm: {
    // y = alpha * A' B' + beta * c, channels = the columns of B'.
    bool tb = producer->attrs.getInt("trans_b") != 0;
    std::vector<double> c = t;
    if (Value *cv = producer->operand(2)) {
      const Tensor *ct = constantF32(cv);
      if (!ct)
        return missed("the c of " + remarkName(*producer) +
                      " is not a plain f32 constant");
      // c must not vary along the rows for the folded c to be per column.
      if (ct->rank() == 2 && ct->shape()[0] != 1)
        return missed("the c of " + remarkName(*producer) +
                      " varies along the rows (" + ct->type().str() + ")");
      double beta = producer->attrs.getFloat("beta", 1.0);
      bool perColumn = ct->numElements() == channels && channels != 1;
      for (int64_t n = 0; n < channels; ++n)
        c[n] += beta * ct->elementAsDouble(perColumn ? n : 0) * s[n];
    }
    // B is [N, K] with trans_b, else [K, N]: column n of B' is row n or
    // column n of B.
    std::vector<double> nwv(static_cast<size_t>(w->numElements()));
    int64_t cols = w->shape()[1];
    for (int64_t i = 0, n = w->numElements(); i < n; ++i)
      nwv[i] = w->elementAsDouble(i) * s[tb ? i / cols : i % cols];
    Value *nw = newF32Constant(graph, before, w->shape(), nwv, loc);
    Value *nc = newF32Constant(graph, before, {channels}, c, loc);
    producer->operands.resize(3);
    producer->operands[1] = nw;
    producer->operands[2] = nc;
    producer->attrs.set("beta", 1.0);
    graph.replaceAllUsesWith(bn.result(), y);
    return absl::OkStatus();
  }
  case OpKind::Matmul: {
    // [M, K] x [K, N]: column n of the weights scales; t becomes an add.
    if (w->rank() != 2)
      return missed("the weights of " + remarkName(*producer) +
                    " are not a matrix");
    Value *nw =
        newF32Constant(graph, before, w->shape(), scaled(*w, s, 1), loc);
    producer->operands[1] = nw;
    Value *tv = newF32Constant(graph, before, {channels}, t, loc);
    Op *add = graph.createOp(OpKind::Add, {y, tv}, {}, {y->type}, loc, bnIt);
    add->result()->name = bn.result()->name;
    graph.replaceAllUsesWith(bn.result(), add->result());
    return absl::OkStatus();
  }
  default:
    return missed("unreachable");
  }
}

} // namespace

absl::StatusOr<bool> runFoldBatchNorm(Graph &graph, const PassOptions &options) {
  if (absl::Status s = options.checkKnown(std::string(kPass), {}); !s.ok())
    return s;
  bool changed = false;
  auto &ops = graph.ops();
  for (auto it = ops.begin(); it != ops.end();) {
    Op &bn = **it;
    if (bn.kind() != OpKind::BatchNorm || graph.countUses(bn.result()) == 0) {
      ++it;
      continue;
    }
    absl::Status s = fold(graph, bn, it);
    if (s.ok()) {
      changed = true;
      if (remarksEnabled())
        remark(Remark::Applied, kPass,
               remarkName(bn) + " folded into " +
                   remarkName(*bn.operand(0)->definingOp()));
      // Gone now, so that a batch_norm right after it sees the producer's
      // result with one user again.
      it = ops.erase(it);
      continue;
    }
    ++it;
    if (remarksEnabled()) {
      remark(Remark::Missed, kPass,
             remarkName(bn) + " not folded: " + std::string(s.message()));
    }
  }
  if (changed)
    removeDeadOps(graph);
  return changed;
}

} // namespace tcpu
