//===- FuseEpilogue.cpp - Elementwise ops folded into GEMM/conv stores -----===//
//
// A conv2d, linear, matmul (a 2-D rhs) or gemm followed by a chain of f32
// elementwise ops (bias or residual add, relu, clip, sigmoid, a scale, ...)
// becomes one `fused` op of kind "epilogue": the lowering applies the chain
// to each vector of the GEMM result before it is stored, so the
// intermediates never reach memory. A chain step is taken when the value it
// consumes has that op as its only user and is not a graph output, the step
// keeps the anchor's shape, and each of its other operands can be read at an
// output element (row, col) of the GEMM (FusionUtils.h: per channel or
// column, per pixel or row, whole, or scalar). Run before fuse-elementwise,
// which would otherwise take the chains. Safe on any verified graph: the
// fused op evaluates the same ops on the same values.
//
//===----------------------------------------------------------------------===//
#include "passes/FusionUtils.h"
#include "passes/Pass.h"
#include "passes/Remarks.h"

namespace tcpu {

namespace {

constexpr const char *kPass = "fuse-epilogue";

bool isAnchor(OpKind k) {
  return k == OpKind::Conv2d || k == OpKind::Linear || k == OpKind::Matmul ||
         k == OpKind::Gemm;
}

/// f32 and plain (row-major): what the GEMM store and epilogueAccess
/// address.
bool allF32(const Op &op) {
  for (const Value *v : op.operands)
    if (v && (v->type.dtype != DType::F32 || !v->type.isPlain()))
      return false;
  return op.result(0)->type.dtype == DType::F32 &&
         op.result(0)->type.isPlain();
}

/// Why `anchor` has no fused epilogue in the lowering, or "".
std::string anchorProblem(const Op &anchor) {
  if (!allF32(anchor))
    return "it is not f32 with a plain layout";
  if (anchor.result(0)->type.numElements() == 0)
    return "its result is empty";
  for (const Value *v : anchor.operands)
    if (v && v->type.numElements() == 0)
      return "an operand is empty";
  // A batched lhs against a 2-D rhs is one GEMM (the batches fold into M).
  if (anchor.kind() == OpKind::Matmul &&
      (anchor.operand(0)->type.rank() < 2 ||
       anchor.operand(1)->type.rank() != 2))
    return "a matmul of rank " +
           std::to_string(anchor.operand(0)->type.rank()) +
           " x " + std::to_string(anchor.operand(1)->type.rank()) +
           " is not a single GEMM";
  if (anchor.kind() == OpKind::Gemm && anchor.operand(2) &&
      anchor.attrs.getFloat("beta", 1.0) != 1.0)
    return "gemm with C and beta != 1";
  return "";
}

/// "%name", or how remarks name the op defining an unnamed value.
std::string valueName(const Value *v) {
  if (!v->name.empty())
    return "%" + v->name;
  if (const Op *op = v->definingOp())
    return "(" + remarkName(*op) + ")";
  return "(a graph input)";
}

/// Why `op`, which uses `chain` (the anchor's result after the steps so
/// far), cannot be the next step, or "".
std::string stepProblem(const Op &anchor, const Op &op, const Value *chain) {
  if (!allF32(op))
    return "it is not f32 with a plain layout throughout";
  const Shape &shape = anchor.result(0)->type.shape;
  if (op.result(0)->type.shape != shape)
    return "its result " + op.result(0)->type.str() +
           " is larger than the " + std::string(anchor.mnemonic()) +
           " result " + chain->type.str();
  for (const Value *v : op.operands) {
    if (!v || v == chain)
      continue;
    if (!epilogueAccess(anchor, v->type.shape))
      return "operand " + valueName(v) + " " + v->type.str() +
             (anchor.kind() == OpKind::Conv2d
                  ? " is broadcast along a non-channel axis"
                  : " is broadcast along some leading axes but not others");
  }
  return "";
}

} // namespace

absl::StatusOr<bool> runFuseEpilogue(Graph &graph, const PassOptions &options) {
  if (absl::Status s = options.checkKnown(kPass, {}); !s.ok())
    return s;
  std::vector<Op *> anchors;
  for (auto &op : graph.ops())
    if (isAnchor(op->kind()))
      anchors.push_back(op.get());
  bool changed = false;
  auto users = usersOf(graph);
  for (Op *anchor : anchors) {
    std::vector<Op *> group{anchor};
    const Value *chain = anchor->result(0);
    std::string why = anchorProblem(*anchor);
    while (true) {
      auto it = users.find(chain);
      if (it == users.end())
        break;
      const std::vector<Op *> &next = it->second;
      bool elementwiseUser = false;
      for (const Op *u : next)
        elementwiseUser |= u->info().hasTrait(kElementwise);
      if (!elementwiseUser)
        break;
      if (isGraphOutput(graph, chain)) { // the value must reach memory
        if (remarksEnabled())
          remark(Remark::Missed, kPass,
                 "no epilogue for " + remarkName(*group.back()) +
                     ": its result is a graph output");
        break;
      }
      if (next.size() != 1) {
        if (remarksEnabled())
          remark(Remark::Missed, kPass,
                 "no epilogue for " + remarkName(*group.back()) + ": its " +
                     "result has " + std::to_string(next.size()) + " users");
        break;
      }
      Op *user = next[0];
      if (why.empty())
        why = stepProblem(*anchor, *user, chain);
      if (!why.empty()) {
        if (remarksEnabled())
          remark(Remark::Missed, kPass,
                 remarkName(*user) + " not fused into " + remarkName(*anchor) +
                     ": " + why);
        break;
      }
      group.push_back(user);
      chain = user->result(0);
    }
    if (group.size() < 2)
      continue;
    std::string names;
    for (const Op *op : group)
      names += (names.empty() ? "" : ", ") + remarkName(*op);
    Op *fused = fuseGroup(graph, group, "epilogue");
    if (remarksEnabled())
      remark(Remark::Applied, kPass,
             names + " fused into " + remarkName(*fused) + " (epilogue of " +
                 std::to_string(group.size() - 1) +
                 (group.size() == 2 ? " op)" : " ops)"));
    changed = true;
    users = usersOf(graph);
  }
  return changed;
}

} // namespace tcpu
