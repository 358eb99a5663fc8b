//===- Fused.cpp - The fused op: a nested graph as one op -------------------===//
//
// `fused` carries its computation as a body graph (attribute `body`). Type
// inference checks the interface (one body input per operand, of the
// operand's type; one output, the result) and the rules of the `kind`, which
// are what the lowering of codegen/lower/Fused.cpp relies on. The body's own
// ops are verified by the verifier, with their own locations. Evaluation is
// the interpreter on the body: fusion never changes a value.
//
//===----------------------------------------------------------------------===//
#include "ir/Graph.h"
#include "ir/Interpreter.h"
#include "ir/ops/OpSupport.h"

#include <unordered_set>

namespace tcpu {

namespace {

/// True when `in` broadcasts (NumPy rules) to exactly `out`.
bool broadcastsTo(const Shape &in, const Shape &out) {
  if (in.size() > out.size())
    return false;
  size_t off = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d)
    if (in[d] != 1 && in[d] != out[off + d])
      return false;
  return true;
}

/// "body op 2 ('relu')", for messages.
std::string bodyOpName(size_t index, const Op &op) {
  return "body op " + std::to_string(index) + " ('" +
         std::string(op.mnemonic()) + "')";
}

bool isEpilogueAnchor(OpKind k) {
  return k == OpKind::Conv2d || k == OpKind::Linear || k == OpKind::Matmul ||
         k == OpKind::Gemm;
}

absl::Status checkElementwiseBody(const Graph &body, const TensorType &out) {
  size_t i = 0;
  for (const auto &op : body.ops()) {
    if (!op->info().hasTrait(kElementwise))
      return ops::invalid("a 'fused' body of kind \"elementwise\" holds only "
                          "elementwise ops; " +
                          bodyOpName(i, *op) + " is not one");
    ++i;
  }
  for (const Value *in : body.inputs())
    if (!broadcastsTo(in->type.shape, out.shape))
      return ops::invalid("'fused' body input %" + in->name + " of type " +
                          in->type.str() + " does not broadcast to the result " +
                          out.str());
  return absl::OkStatus();
}

absl::Status checkEpilogueBody(const Graph &body, const Value *result) {
  if (body.ops().empty() || !isEpilogueAnchor(body.ops().front()->kind()))
    return ops::invalid("a 'fused' body of kind \"epilogue\" starts with "
                        "conv2d, linear, matmul or gemm");
  std::unordered_set<const Value *> inputs(body.inputs().begin(),
                                           body.inputs().end());
  const Op &anchor = *body.ops().front();
  const Value *chain = anchor.result(0);
  const Shape &shape = chain->type.shape;
  for (const Value *v : anchor.operands)
    if (v && !inputs.count(v))
      return ops::invalid("the operands of the 'fused' epilogue's " +
                          bodyOpName(0, anchor) + " must be body inputs");
  size_t i = 0;
  for (const auto &op : body.ops()) {
    if (i++ == 0)
      continue;
    if (!op->info().hasTrait(kElementwise))
      return ops::invalid("a 'fused' epilogue continues with elementwise ops "
                          "only; " +
                          bodyOpName(i - 1, *op) + " is not one");
    bool usesChain = false;
    for (const Value *v : op->operands) {
      usesChain |= v == chain;
      if (v && v != chain && !inputs.count(v))
        return ops::invalid("in a 'fused' epilogue, " + bodyOpName(i - 1, *op) +
                            " may use the previous op's result and body "
                            "inputs only");
    }
    if (!usesChain)
      return ops::invalid("in a 'fused' epilogue, " + bodyOpName(i - 1, *op) +
                          " does not use the previous op's result");
    if (op->result(0)->type.shape != shape)
      return ops::invalid("in a 'fused' epilogue, " + bodyOpName(i - 1, *op) +
                          " has type " + op->result(0)->type.str() +
                          "; the epilogue keeps the shape of the " +
                          std::string(anchor.mnemonic()) + " result " +
                          chain->type.str());
    chain = op->result(0);
  }
  if (result != chain)
    return ops::invalid("a 'fused' epilogue returns its last op's result");
  return absl::OkStatus();
}

} // namespace

absl::Status inferFused(InferContext &ctx) {
  const Graph *body = ctx.attrs.getGraph("body");
  if (!body)
    return ops::invalid("'fused' has no body");
  std::string kind = ctx.attrs.getString("kind");
  if (kind != "elementwise" && kind != "epilogue")
    return ops::invalid("'fused' kind must be \"elementwise\" or \"epilogue\", "
                        "got \"" + kind + "\"");
  if (body->inputs().size() != ctx.operands.size())
    return ops::invalid("'fused' has " + std::to_string(ctx.operands.size()) +
                        " operands but its body takes " +
                        std::to_string(body->inputs().size()) + " inputs");
  for (size_t i = 0; i < ctx.operands.size(); ++i) {
    const TensorType &in = body->inputs()[i]->type;
    if (!ctx.has(i))
      return ops::invalid("'fused' operand " + std::to_string(i) +
                          " cannot be none");
    const TensorType &t = ctx.operand(i);
    if (in.dtype != t.dtype || in.shape != t.shape)
      return ops::invalid("'fused' operand " + std::to_string(i) + " is " +
                          t.str() + " but body input %" +
                          body->inputs()[i]->name + " is " + in.str());
  }
  if (body->outputs().size() != 1 || !body->outputs()[0].value)
    return ops::invalid("a 'fused' body returns exactly one value, it returns " +
                        std::to_string(body->outputs().size()));
  const Value *result = body->outputs()[0].value;
  for (const auto &op : body->ops())
    if (op->kind() == OpKind::Constant || op->kind() == OpKind::Fused)
      return ops::invalid("a 'fused' body holds no " +
                          std::string(op->mnemonic()) +
                          " ops (constants are passed as operands)");
  absl::Status s = kind == "elementwise"
                       ? checkElementwiseBody(*body, result->type)
                       : checkEpilogueBody(*body, result);
  if (!s.ok())
    return s;
  TensorType out = result->type;
  out.layout.clear();
  ctx.results.push_back(std::move(out));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> evalFused(const EvalContext &ctx) {
  const Graph *body = ctx.attrs.getGraph("body");
  if (!body)
    return ops::invalid("'fused' has no body");
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < ctx.operands.size(); ++i) {
    if (!ctx.has(i))
      return ops::invalid("'fused' operand " + std::to_string(i) + " is none");
    inputs.push_back(ctx.operand(i));
  }
  absl::StatusOr<std::vector<Tensor>> out = interpret(*body, inputs);
  if (!out.ok())
    return out.status();
  if (out->size() != 1)
    return ops::invalid("a 'fused' body returns exactly one value");
  return out;
}

} // namespace tcpu
