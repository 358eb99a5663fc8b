//===- OnnxElementwise.cpp - Elementwise ONNX ops -------------------------===//
//
// Unary and binary arithmetic, comparisons, logic, Where, the variadic
// Min/Max/Sum/Mean (chains of binary ops), Cast, and the value aliases
// Identity and Dropout (inference), which emit no op at all.
//
//===----------------------------------------------------------------------===//
#include "ir/onnx/ImportContext.h"

namespace tcpu::onnximport {

namespace {

absl::Status unary(NodeContext &ctx, OpKind kind, Attributes attrs = {}) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "X"));
  TCPU_ASSIGN(Value * r, ctx.emit(kind, {x}, std::move(attrs)));
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

absl::Status binary(NodeContext &ctx, OpKind kind) {
  TCPU_ASSIGN(Value * a, ctx.required(0, "A"));
  TCPU_ASSIGN(Value * b, ctx.required(1, "B"));
  TCPU_ASSIGN(Value * r, ctx.emit(kind, {a, b}));
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

/// Folds a variadic op into a left-to-right chain of binary ops.
absl::StatusOr<Value *> chain(NodeContext &ctx, OpKind kind) {
  std::vector<Value *> in;
  for (size_t i = 0; i < ctx.numInputs(); ++i)
    if (Value *v = ctx.input(i))
      in.push_back(v);
  if (in.empty())
    return ctx.error("needs at least one input");
  Value *acc = in[0];
  for (size_t i = 1; i < in.size(); ++i) {
    TCPU_ASSIGN(acc, ctx.emit(kind, {acc, in[i]}));
  }
  return acc;
}

absl::Status variadic(NodeContext &ctx, OpKind kind) {
  TCPU_ASSIGN(Value * r, chain(ctx, kind));
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

} // namespace

absl::Status convertAdd(NodeContext &ctx) { return binary(ctx, OpKind::Add); }
absl::Status convertSub(NodeContext &ctx) { return binary(ctx, OpKind::Sub); }
absl::Status convertMul(NodeContext &ctx) { return binary(ctx, OpKind::Mul); }
absl::Status convertDiv(NodeContext &ctx) { return binary(ctx, OpKind::Div); }
absl::Status convertAnd(NodeContext &ctx) { return binary(ctx, OpKind::And); }
absl::Status convertOr(NodeContext &ctx) { return binary(ctx, OpKind::Or); }
absl::Status convertEqual(NodeContext &ctx) { return binary(ctx, OpKind::Eq); }
absl::Status convertLess(NodeContext &ctx) { return binary(ctx, OpKind::Lt); }
absl::Status convertGreater(NodeContext &ctx) { return binary(ctx, OpKind::Gt); }
absl::Status convertLessOrEqual(NodeContext &ctx) {
  return binary(ctx, OpKind::Le);
}
absl::Status convertGreaterOrEqual(NodeContext &ctx) {
  return binary(ctx, OpKind::Ge);
}

absl::Status convertPow(NodeContext &ctx) {
  // ONNX allows an exponent of another type; the result has the base's.
  TCPU_ASSIGN(Value * x, ctx.required(0, "X"));
  TCPU_ASSIGN(Value * y, ctx.required(1, "Y"));
  TCPU_ASSIGN(y, ctx.cast(y, x->type.dtype));
  TCPU_ASSIGN(Value * r, ctx.emit(OpKind::Pow, {x, y}));
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

absl::Status convertSqrt(NodeContext &ctx) { return unary(ctx, OpKind::Sqrt); }
absl::Status convertExp(NodeContext &ctx) { return unary(ctx, OpKind::Exp); }
absl::Status convertLog(NodeContext &ctx) { return unary(ctx, OpKind::Log); }
absl::Status convertTanh(NodeContext &ctx) { return unary(ctx, OpKind::Tanh); }
absl::Status convertSigmoid(NodeContext &ctx) {
  return unary(ctx, OpKind::Sigmoid);
}
absl::Status convertRelu(NodeContext &ctx) { return unary(ctx, OpKind::Relu); }
absl::Status convertAbs(NodeContext &ctx) { return unary(ctx, OpKind::Abs); }
absl::Status convertNeg(NodeContext &ctx) { return unary(ctx, OpKind::Neg); }
absl::Status convertErf(NodeContext &ctx) { return unary(ctx, OpKind::Erf); }
absl::Status convertReciprocal(NodeContext &ctx) {
  return unary(ctx, OpKind::Reciprocal);
}
absl::Status convertRound(NodeContext &ctx) { return unary(ctx, OpKind::Round); }
absl::Status convertNot(NodeContext &ctx) { return unary(ctx, OpKind::Not); }

absl::Status convertLeakyRelu(NodeContext &ctx) {
  return unary(ctx, OpKind::LeakyRelu, {{"alpha", ctx.getFloat("alpha", 0.01)}});
}

absl::Status convertGelu(NodeContext &ctx) {
  std::string approx = ctx.getString("approximate", "none");
  if (approx != "none" && approx != "tanh")
    return ctx.error("approximate must be \"none\" or \"tanh\", got \"" +
                     approx + "\"");
  return unary(ctx, OpKind::Gelu, {{"approximate", approx}});
}

namespace {
/// clip(alpha * x + beta, 0, 1)
absl::StatusOr<Value *> hardSigmoid(NodeContext &ctx, Value *x, double alpha,
                                    double beta) {
  DType t = x->type.dtype;
  TCPU_ASSIGN(Value * ax, ctx.emit(OpKind::Mul, {x, ctx.scalar(alpha, t)}));
  TCPU_ASSIGN(Value * axb, ctx.emit(OpKind::Add, {ax, ctx.scalar(beta, t)}));
  return ctx.emit(OpKind::Clip, {axb}, {{"min", 0.0}, {"max", 1.0}});
}
} // namespace

absl::Status convertHardSigmoid(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "X"));
  TCPU_ASSIGN(Value * r, hardSigmoid(ctx, x, ctx.getFloat("alpha", 0.2),
                                      ctx.getFloat("beta", 0.5)));
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

absl::Status convertHardSwish(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "X"));
  TCPU_ASSIGN(Value * hs, hardSigmoid(ctx, x, 1.0 / 6.0, 0.5));
  TCPU_ASSIGN(Value * r, ctx.emit(OpKind::Mul, {x, hs}));
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

absl::Status convertClip(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "input"));
  Attributes attrs;
  if (ctx.opset() < 11) {
    if (ctx.hasAttr("min"))
      attrs.set("min", ctx.getFloat("min"));
    if (ctx.hasAttr("max"))
      attrs.set("max", ctx.getFloat("max"));
  } else {
    // Since opset 11 the bounds are inputs; the IR takes them as attributes.
    if (ctx.hasInput(1)) {
      TCPU_ASSIGN(double lo, ctx.constScalar(1, "min"));
      attrs.set("min", lo);
    }
    if (ctx.hasInput(2)) {
      TCPU_ASSIGN(double hi, ctx.constScalar(2, "max"));
      attrs.set("max", hi);
    }
  }
  if (attrs.empty()) {
    ctx.setOutput(0, x);
    return absl::OkStatus();
  }
  TCPU_ASSIGN(Value * r, ctx.emit(OpKind::Clip, {x}, std::move(attrs)));
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

absl::Status convertWhere(NodeContext &ctx) {
  TCPU_ASSIGN(Value * c, ctx.required(0, "condition"));
  TCPU_ASSIGN(Value * a, ctx.required(1, "X"));
  TCPU_ASSIGN(Value * b, ctx.required(2, "Y"));
  TCPU_ASSIGN(Value * r, ctx.emit(OpKind::Where, {c, a, b}));
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

absl::Status convertMin(NodeContext &ctx) { return variadic(ctx, OpKind::Min); }
absl::Status convertMax(NodeContext &ctx) { return variadic(ctx, OpKind::Max); }
absl::Status convertSum(NodeContext &ctx) { return variadic(ctx, OpKind::Add); }

absl::Status convertMean(NodeContext &ctx) {
  TCPU_ASSIGN(Value * sum, chain(ctx, OpKind::Add));
  int n = 0;
  for (size_t i = 0; i < ctx.numInputs(); ++i)
    n += ctx.hasInput(i);
  Value *r = sum;
  if (n > 1) {
    TCPU_ASSIGN(r, ctx.emit(OpKind::Div, {sum, ctx.scalar(n, sum->type.dtype)}));
  }
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

absl::Status convertCast(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "input"));
  if (!ctx.hasAttr("to"))
    return ctx.error("attribute 'to' is required");
  absl::StatusOr<DType> to =
      mapElemType(static_cast<int32_t>(ctx.getInt("to")), "Cast 'to'");
  if (!to.ok())
    return ctx.error(std::string(to.status().message()));
  // `saturate` (opset 19) only matters for float8 targets, which are
  // rejected above.
  TCPU_ASSIGN(Value * r, ctx.cast(x, *to));
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

absl::Status convertCastLike(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "input"));
  TCPU_ASSIGN(Value * like, ctx.required(1, "target_type"));
  TCPU_ASSIGN(Value * r, ctx.cast(x, like->type.dtype));
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

absl::Status convertIdentity(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "input"));
  ctx.setOutput(0, x);
  return absl::OkStatus();
}

absl::Status convertDropout(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "data"));
  if (ctx.hasInput(2)) {
    absl::StatusOr<Tensor> training = ctx.constInput(2, "training_mode");
    if (!training.ok())
      return training.status();
    if (training->numElements() == 1 && training->elementAsInt(0) != 0)
      return ctx.error("training mode is not supported (only inference)");
  }
  if (absl::Status s = ctx.requireUnusedOutputsFrom(1, "mask"); !s.ok())
    return s;
  ctx.setOutput(0, x);
  return absl::OkStatus();
}

} // namespace tcpu::onnximport
