//===- OnnxQuant.cpp - Quantization ONNX ops by decomposition -------------===//
//
// The IR has no quantized types or ops; these ONNX ops become float/int32
// arithmetic with the exact ONNX semantics:
//   DequantizeLinear:  (f32(x) - f32(zp)) * scale
//   QuantizeLinear:    cast(clip(round(x / scale) + zp, lo, hi))  (round half
//                      to even, the IR's `round`)
//   DynamicQuantizeLinear: scale and zero point from min/max of x, then as
//                      QuantizeLinear to u8
//   MatMulInteger:     matmul(i32(a) - i32(a_zp), i32(b) - i32(b_zp))
// Per-axis scales and zero points are reshaped to broadcast along `axis`.
// Blocked quantization (block_size, opset 21) and types other than u8/i8
// (int16, int4, float8: rejected as unsupported data types) are errors.
//
//===----------------------------------------------------------------------===//
#include "ir/onnx/ImportContext.h"

namespace tcpu::onnximport {

namespace {

/// Reshapes a per-axis parameter of shape [C] to [1,..,C,..,1] (C at `axis`
/// of a rank-`rank` tensor) and a one-element one to a scalar.
absl::StatusOr<Value *> broadcastParam(NodeContext &ctx, Value *p, int64_t axis,
                                       const TensorType &x,
                                       const std::string &what) {
  if (p->type.numElements() == 1)
    return ctx.reshape(p, {});
  if (p->type.rank() == 0)
    return p;
  int64_t rank = x.rank();
  if (p->type.rank() != 1 || axis < -rank || axis >= rank)
    return ctx.error(what + " " + p->type.str() + " must be a scalar or 1-D "
                     "along axis " + std::to_string(axis) + " of " + x.str() +
                     " (blocked quantization is not supported)");
  if (axis < 0)
    axis += rank;
  if (p->type.shape[0] != x.shape[axis])
    return ctx.error(what + " " + p->type.str() + " does not match axis " +
                     std::to_string(axis) + " of " + x.str());
  Shape s(rank, 1);
  s[axis] = x.shape[axis];
  return ctx.reshape(p, s);
}

absl::Status checkNoBlocks(NodeContext &ctx) {
  if (ctx.getInt("block_size", 0) != 0)
    return ctx.error("blocked quantization (block_size " +
                     std::to_string(ctx.getInt("block_size", 0)) +
                     ") is not supported");
  return absl::OkStatus();
}

absl::Status requireQuantType(NodeContext &ctx, DType t, const std::string &what,
                              bool allowI32) {
  if (t == DType::U8 || t == DType::I8 || (allowI32 && t == DType::I32))
    return absl::OkStatus();
  return ctx.error(what + " has the unsupported quantized type " +
                   std::string(dtypeName(t)) + " (supported: u8, i8" +
                   (allowI32 ? ", i32" : "") + ")");
}

/// cast(clip(round(x / scale) + zp, lo, hi), to) with x, scale, zp in f32.
absl::StatusOr<Value *> quantize(NodeContext &ctx, Value *x, Value *scale,
                                 Value *zp, DType to) {
  TCPU_ASSIGN(Value * q, ctx.emit(OpKind::Div, {x, scale}));
  TCPU_ASSIGN(q, ctx.emit(OpKind::Round, {q}));
  if (zp) {
    TCPU_ASSIGN(q, ctx.emit(OpKind::Add, {q, zp}));
  }
  double lo = to == DType::U8 ? 0 : -128, hi = to == DType::U8 ? 255 : 127;
  TCPU_ASSIGN(q, ctx.emit(OpKind::Clip, {q}, {{"min", lo}, {"max", hi}}));
  return ctx.cast(q, to);
}

} // namespace

absl::Status convertDequantizeLinear(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "x"));
  TCPU_ASSIGN(Value * scale, ctx.required(1, "x_scale"));
  Value *zp = ctx.input(2);
  TCPU_TRY(checkNoBlocks(ctx));
  TCPU_TRY(requireQuantType(ctx, x->type.dtype, "x", true));
  if (!isFloat(scale->type.dtype))
    return ctx.error("x_scale must be a float tensor, got " + scale->type.str());
  int64_t axis = ctx.getInt("axis", 1);
  DType outType = scale->type.dtype;
  TCPU_ASSIGN(scale, broadcastParam(ctx, scale, axis, x->type, "x_scale"));
  TCPU_ASSIGN(scale, ctx.cast(scale, DType::F32));
  TCPU_ASSIGN(Value * v, ctx.cast(x, DType::F32));
  if (zp) {
    if (zp->type.dtype != x->type.dtype)
      return ctx.error("x_zero_point " + zp->type.str() +
                       " must have the type of x " + x->type.str());
    TCPU_ASSIGN(zp, broadcastParam(ctx, zp, axis, x->type, "x_zero_point"));
    TCPU_ASSIGN(zp, ctx.cast(zp, DType::F32));
    TCPU_ASSIGN(v, ctx.emit(OpKind::Sub, {v, zp}));
  }
  TCPU_ASSIGN(v, ctx.emit(OpKind::Mul, {v, scale}));
  TCPU_ASSIGN(v, ctx.cast(v, outType));
  ctx.setOutput(0, v);
  return absl::OkStatus();
}

absl::Status convertQuantizeLinear(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "x"));
  TCPU_ASSIGN(Value * scale, ctx.required(1, "y_scale"));
  Value *zp = ctx.input(2);
  TCPU_TRY(checkNoBlocks(ctx));
  if (!isFloat(x->type.dtype) && x->type.dtype != DType::I32)
    return ctx.error("x must be a float or i32 tensor, got " + x->type.str());
  DType to = DType::U8;
  if (zp) {
    to = zp->type.dtype;
  } else if (int64_t od = ctx.getInt("output_dtype", 0); od != 0) {
    absl::StatusOr<DType> t =
        mapElemType(static_cast<int32_t>(od), "QuantizeLinear output_dtype");
    if (!t.ok())
      return ctx.error(std::string(t.status().message()));
    to = *t;
  }
  TCPU_TRY(requireQuantType(ctx, to, "y", false));
  int64_t axis = ctx.getInt("axis", 1);
  TCPU_ASSIGN(scale, broadcastParam(ctx, scale, axis, x->type, "y_scale"));
  TCPU_ASSIGN(scale, ctx.cast(scale, DType::F32));
  TCPU_ASSIGN(Value * xf, ctx.cast(x, DType::F32));
  if (zp) {
    TCPU_ASSIGN(zp, broadcastParam(ctx, zp, axis, x->type, "y_zero_point"));
    TCPU_ASSIGN(zp, ctx.cast(zp, DType::F32));
  }
  TCPU_ASSIGN(Value * y, quantize(ctx, xf, scale, zp, to));
  ctx.setOutput(0, y);
  return absl::OkStatus();
}

absl::Status convertDynamicQuantizeLinear(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "x"));
  if (x->type.dtype != DType::F32)
    return ctx.error("x must be f32, got " + x->type.str());
  // ONNX: range [min(0, min(x)), max(0, max(x))] over qmin = 0, qmax = 255.
  Value *zero = ctx.scalar(0, DType::F32);
  TCPU_ASSIGN(Value * mn, ctx.emit(OpKind::ReduceMin, {x}));
  TCPU_ASSIGN(mn, ctx.emit(OpKind::Min, {mn, zero}));
  TCPU_ASSIGN(Value * mx, ctx.emit(OpKind::ReduceMax, {x}));
  TCPU_ASSIGN(mx, ctx.emit(OpKind::Max, {mx, zero}));
  TCPU_ASSIGN(Value * range, ctx.emit(OpKind::Sub, {mx, mn}));
  TCPU_ASSIGN(Value * scale,
              ctx.emit(OpKind::Div, {range, ctx.scalar(255, DType::F32)}));
  // zero point = saturate(round(qmin - min / scale)).
  TCPU_ASSIGN(Value * izp, ctx.emit(OpKind::Div, {mn, scale}));
  TCPU_ASSIGN(izp, ctx.emit(OpKind::Sub, {zero, izp}));
  TCPU_ASSIGN(izp, ctx.emit(OpKind::Clip, {izp}, {{"min", 0.0}, {"max", 255.0}}));
  TCPU_ASSIGN(izp, ctx.emit(OpKind::Round, {izp}));
  TCPU_ASSIGN(Value * zp, ctx.cast(izp, DType::U8));
  TCPU_ASSIGN(Value * y, quantize(ctx, x, scale, izp, DType::U8));
  ctx.setOutput(0, y);
  ctx.setOutput(1, scale);
  ctx.setOutput(2, zp);
  return absl::OkStatus();
}

absl::Status convertMatMulInteger(NodeContext &ctx) {
  TCPU_ASSIGN(Value * a, ctx.required(0, "A"));
  TCPU_ASSIGN(Value * b, ctx.required(1, "B"));
  TCPU_TRY(requireQuantType(ctx, a->type.dtype, "A", false));
  TCPU_TRY(requireQuantType(ctx, b->type.dtype, "B", false));
  TCPU_ASSIGN(Value * a32, ctx.cast(a, DType::I32));
  TCPU_ASSIGN(Value * b32, ctx.cast(b, DType::I32));
  if (Value *azp = ctx.input(2)) {
    // A's zero point: a scalar or one per row ([M] -> [M, 1]).
    if (azp->type.numElements() > 1) {
      if (azp->type.rank() != 1 || a->type.rank() < 2 ||
          azp->type.shape[0] != a->type.shape[a->type.rank() - 2])
        return ctx.error("a_zero_point " + azp->type.str() +
                         " must be a scalar or one per row of A " +
                         a->type.str());
      TCPU_ASSIGN(azp, ctx.reshape(azp, {azp->type.shape[0], 1}));
    } else {
      TCPU_ASSIGN(azp, ctx.reshape(azp, {}));
    }
    TCPU_ASSIGN(azp, ctx.cast(azp, DType::I32));
    TCPU_ASSIGN(a32, ctx.emit(OpKind::Sub, {a32, azp}));
  }
  if (Value *bzp = ctx.input(3)) {
    // B's zero point: a scalar or one per column ([N] broadcasts as is).
    if (bzp->type.numElements() == 1) {
      TCPU_ASSIGN(bzp, ctx.reshape(bzp, {}));
    }
    TCPU_ASSIGN(bzp, ctx.cast(bzp, DType::I32));
    TCPU_ASSIGN(b32, ctx.emit(OpKind::Sub, {b32, bzp}));
  }
  TCPU_ASSIGN(Value * r, ctx.emit(OpKind::Matmul, {a32, b32}));
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

} // namespace tcpu::onnximport
