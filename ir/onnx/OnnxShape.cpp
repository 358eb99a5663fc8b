//===- OnnxShape.cpp - Constants, shape and data-movement ONNX ops --------===//
//
// Shape, Size, Constant, ConstantOfShape and Range become constants (input
// shapes are static); Reshape, Slice, Squeeze/Unsqueeze (opset >= 13),
// Expand, Pad (opset >= 11; attributes before), Split and the reductions
// (axes as input: ReduceSum >= 13, the others >= 18) read their shape-like
// inputs as constants, which they are once the shape arithmetic feeding them
// has been folded.
//
//===----------------------------------------------------------------------===//
#include "ir/onnx/ImportContext.h"

#include "ir/Verifier.h"

#include <algorithm>
#include <cstring>

#include <cmath>

namespace tcpu::onnximport {

namespace {

absl::Status single(NodeContext &ctx, absl::StatusOr<Value *> r) {
  if (!r.ok())
    return r.status();
  ctx.setOutput(0, *r);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> normAxis(NodeContext &ctx, int64_t axis, int64_t rank,
                                 const std::string &what) {
  if (axis < -rank || axis >= rank)
    return ctx.error(what + " " + std::to_string(axis) +
                     " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

} // namespace

// ----- Constants ----------------------------------------------------------------------

absl::Status convertConstant(NodeContext &ctx) {
  Tensor t;
  if (const onnx::TensorProto *p = ctx.getTensor("value")) {
    absl::StatusOr<Tensor> d =
        decodeTensor(*p, "Constant value", ctx.imp.external,
                     std::static_pointer_cast<const void>(ctx.imp.model));
    if (!d.ok())
      return ctx.error(std::string(d.status().message()));
    t = std::move(*d);
  } else if (ctx.hasAttr("value_float")) {
    t = Tensor::allocate(TensorType(DType::F32, {})).value();
    t.setElementFromDouble(0, ctx.getFloat("value_float"));
  } else if (ctx.hasAttr("value_int")) {
    t = Tensor::allocate(TensorType(DType::I64, {})).value();
    t.setElementFromInt(0, ctx.getInt("value_int"));
  } else if (ctx.hasAttr("value_floats")) {
    std::vector<double> v = ctx.getFloats("value_floats");
    t = Tensor::allocate(TensorType(DType::F32, {static_cast<int64_t>(v.size())}))
            .value();
    for (size_t i = 0; i < v.size(); ++i)
      t.setElementFromDouble(static_cast<int64_t>(i), v[i]);
  } else if (ctx.hasAttr("value_ints")) {
    std::vector<int64_t> v = ctx.getInts("value_ints");
    t = Tensor::allocate(TensorType(DType::I64, {static_cast<int64_t>(v.size())}))
            .value();
    for (size_t i = 0; i < v.size(); ++i)
      t.setElementFromInt(static_cast<int64_t>(i), v[i]);
  } else if (ctx.hasAttr("sparse_value")) {
    return ctx.error("sparse constants are not supported");
  } else if (ctx.hasAttr("value_string") || ctx.hasAttr("value_strings")) {
    return ctx.error("string constants are not supported");
  } else {
    return ctx.error("has no value attribute");
  }
  ctx.setOutput(0, ctx.constant(std::move(t)));
  return absl::OkStatus();
}

absl::Status convertConstantOfShape(NodeContext &ctx) {
  TCPU_ASSIGN(std::vector<int64_t> shape, ctx.constInts(0, "shape"));
  for (int64_t d : shape)
    if (d < 0)
      return ctx.error("shape " + shapeToString(shape) + " has a negative dim");
  Tensor fill;
  if (const onnx::TensorProto *p = ctx.getTensor("value")) {
    absl::StatusOr<Tensor> d =
        decodeTensor(*p, "ConstantOfShape value", ctx.imp.external, nullptr);
    if (!d.ok())
      return ctx.error(std::string(d.status().message()));
    if (d->numElements() != 1)
      return ctx.error("value must have one element, got " + d->type().str());
    fill = std::move(*d);
  } else {
    fill = Tensor::allocate(TensorType(DType::F32, {1})).value();
  }
  TensorType type(fill.dtype(), shape);
  if (std::string why = checkTensorType(type); !why.empty())
    return ctx.error("result " + type.str() + ": " + why);
  absl::StatusOr<Tensor> t = Tensor::allocate(type);
  if (!t.ok())
    return ctx.error(std::string(t.status().message()));
  int64_t es = dtypeSize(type.dtype);
  auto *dst = static_cast<uint8_t *>(t->mutableData());
  for (int64_t i = 0, n = t->numElements(); i < n; ++i)
    std::memcpy(dst + i * es, fill.data(), es);
  ctx.setOutput(0, ctx.constant(std::move(*t)));
  return absl::OkStatus();
}

absl::Status convertShape(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "data"));
  const Shape &s = x->type.shape;
  int64_t rank = x->type.rank();
  // Opset 15: start/end select a range of dims, clamped like Python slices.
  int64_t start = ctx.getInt("start", 0), end = ctx.getInt("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i)
    dims.push_back(s[i]);
  ctx.setOutput(0, ctx.ints(dims));
  return absl::OkStatus();
}

absl::Status convertSize(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "data"));
  ctx.setOutput(0, ctx.scalar(static_cast<double>(x->type.numElements()),
                              DType::I64));
  return absl::OkStatus();
}

absl::Status convertRange(NodeContext &ctx) {
  // The IR has no range op: only constant ranges are supported.
  TCPU_ASSIGN(Tensor start, ctx.constInput(0, "start"));
  TCPU_ASSIGN(Tensor limit, ctx.constInput(1, "limit"));
  TCPU_ASSIGN(Tensor delta, ctx.constInput(2, "delta"));
  if (start.numElements() != 1 || limit.numElements() != 1 ||
      delta.numElements() != 1)
    return ctx.error("start, limit and delta must be scalars");
  DType t = start.dtype();
  absl::StatusOr<Tensor> out;
  if (isFloat(t)) {
    double s = start.elementAsDouble(0), l = limit.elementAsDouble(0),
           d = delta.elementAsDouble(0);
    if (d == 0)
      return ctx.error("delta is zero");
    double n = std::max(std::ceil((l - s) / d), 0.0);
    if (!(n < 1e9))
      return ctx.error("range is too large");
    out = Tensor::allocate(TensorType(t, {static_cast<int64_t>(n)}));
    if (out.ok())
      for (int64_t i = 0; i < static_cast<int64_t>(n); ++i)
        out->setElementFromDouble(i, s + static_cast<double>(i) * d);
  } else {
    int64_t s = start.elementAsInt(0), l = limit.elementAsInt(0),
            d = delta.elementAsInt(0);
    if (d == 0)
      return ctx.error("delta is zero");
    __int128 diff = static_cast<__int128>(l) - s;
    __int128 n = diff / d + ((diff % d != 0) && ((diff > 0) == (d > 0)));
    if (n < 0)
      n = 0;
    if (n > 1000000000)
      return ctx.error("range is too large");
    out = Tensor::allocate(TensorType(t, {static_cast<int64_t>(n)}));
    if (out.ok())
      for (int64_t i = 0; i < static_cast<int64_t>(n); ++i)
        out->setElementFromInt(i, s + i * d);
  }
  if (!out.ok())
    return ctx.error(std::string(out.status().message()));
  ctx.setOutput(0, ctx.constant(std::move(*out)));
  return absl::OkStatus();
}

// ----- Reshaping ----------------------------------------------------------------------

absl::Status convertReshape(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "data"));
  TCPU_ASSIGN(std::vector<int64_t> spec, ctx.constInts(1, "shape"));
  bool allowZero = ctx.getInt("allowzero", 0) != 0;
  // Resolve ONNX's 0 (copy the input dim, unless allowzero) and -1 (infer)
  // to a static shape.
  Shape shape = spec;
  int64_t inferAt = -1, known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == 0 && !allowZero) {
      if (static_cast<int64_t>(i) >= x->type.rank())
        return ctx.error("shape " + shapeToString(spec) + " copies dim " +
                         std::to_string(i) + " (a 0) of " + x->type.str() +
                         ", which has no such dim");
      shape[i] = x->type.shape[i];
    } else if (spec[i] == -1) {
      if (inferAt >= 0)
        return ctx.error("shape " + shapeToString(spec) + " has more than one -1");
      inferAt = static_cast<int64_t>(i);
      continue;
    } else if (spec[i] < 0) {
      return ctx.error("shape " + shapeToString(spec) + " has a negative dim");
    }
    if (shape[i] != 0 && known > INT64_MAX / shape[i])
      return ctx.error("shape " + shapeToString(spec) + " is too large");
    known *= shape[i];
  }
  int64_t n = x->type.numElements();
  if (inferAt >= 0) {
    if (known == 0)
      return ctx.error("cannot reshape " + x->type.str() + " to " +
                       shapeToString(spec) + ": the -1 is ambiguous when "
                       "the other dims have a 0");
    if (n % known != 0)
      return ctx.error("cannot reshape " + x->type.str() + " to " +
                       shapeToString(spec));
    shape[inferAt] = n / known;
  }
  // With allowzero a 0 stays a 0-sized dim, which is what the IR's shape
  // means by 0.
  return single(ctx, ctx.reshape(x, shape));
}

absl::Status convertFlatten(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "input"));
  int64_t rank = x->type.rank();
  int64_t axis = ctx.getInt("axis", 1);
  if (axis < -rank || axis > rank)
    return ctx.error("axis " + std::to_string(axis) +
                     " is out of range for rank " + std::to_string(rank));
  if (axis < 0)
    axis += rank;
  // Flatten is a reshape to [prod(dims[:axis]), prod(dims[axis:])].
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i)
    (i < axis ? outer : inner) *= x->type.shape[i];
  return single(ctx, ctx.reshape(x, {outer, inner}));
}

absl::Status convertTranspose(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "data"));
  Attributes attrs;
  if (ctx.hasAttr("perm"))
    attrs.set("perm", ctx.getInts("perm"));
  return single(ctx, ctx.emit(OpKind::Transpose, {x}, std::move(attrs)));
}

absl::Status convertConcat(NodeContext &ctx) {
  std::vector<Value *> in;
  for (size_t i = 0; i < ctx.numInputs(); ++i)
    if (Value *v = ctx.input(i))
      in.push_back(v);
  if (in.empty())
    return ctx.error("needs at least one input");
  if (!ctx.hasAttr("axis"))
    return ctx.error("attribute 'axis' is required");
  return single(ctx, ctx.emit(OpKind::Concat, in, {{"axis", ctx.getInt("axis")}}));
}

absl::Status convertSlice(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "data"));
  Attributes attrs;
  TCPU_ASSIGN(std::vector<int64_t> starts, ctx.constInts(1, "starts"));
  TCPU_ASSIGN(std::vector<int64_t> ends, ctx.constInts(2, "ends"));
  attrs.set("starts", starts);
  attrs.set("ends", ends);
  if (ctx.hasInput(3)) {
    TCPU_ASSIGN(std::vector<int64_t> axes, ctx.constInts(3, "axes"));
    attrs.set("axes", axes);
  }
  if (ctx.hasInput(4)) {
    TCPU_ASSIGN(std::vector<int64_t> steps, ctx.constInts(4, "steps"));
    attrs.set("steps", steps);
  }
  return single(ctx, ctx.emit(OpKind::Slice, {x}, std::move(attrs)));
}

absl::Status convertGather(NodeContext &ctx) {
  TCPU_ASSIGN(Value * data, ctx.required(0, "data"));
  TCPU_ASSIGN(Value * idx, ctx.required(1, "indices"));
  return single(ctx, ctx.emit(OpKind::Gather, {data, idx},
                              {{"axis", ctx.getInt("axis", 0)}}));
}

absl::Status convertSqueeze(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "data"));
  Attributes attrs;
  if (ctx.opset() >= 13) {
    if (ctx.hasInput(1)) {
      TCPU_ASSIGN(std::vector<int64_t> axes, ctx.constInts(1, "axes"));
      attrs.set("axes", axes);
    }
  } else if (ctx.hasAttr("axes")) {
    attrs.set("axes", ctx.getInts("axes"));
  }
  return single(ctx, ctx.emit(OpKind::Squeeze, {x}, std::move(attrs)));
}

absl::Status convertUnsqueeze(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "data"));
  std::vector<int64_t> axes;
  if (ctx.opset() >= 13) {
    TCPU_ASSIGN(axes, ctx.constInts(1, "axes"));
  } else {
    if (!ctx.hasAttr("axes"))
      return ctx.error("attribute 'axes' is required");
    axes = ctx.getInts("axes");
  }
  return single(ctx, ctx.emit(OpKind::Unsqueeze, {x}, {{"axes", axes}}));
}

absl::Status convertExpand(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "input"));
  TCPU_ASSIGN(std::vector<int64_t> shape, ctx.constInts(1, "shape"));
  return single(ctx, ctx.emit(OpKind::Expand, {x}, {{"shape", shape}}));
}

absl::Status convertPad(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "data"));
  int64_t rank = x->type.rank();
  std::string mode = ctx.getString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return ctx.error("pad mode '" + mode + "' is not supported");
  std::vector<int64_t> pads;
  double value = 0;
  if (ctx.opset() < 11) {
    // Opsets 2 to 10: pads and value are attributes.
    if (!ctx.hasAttr("pads"))
      return ctx.error("attribute 'pads' is required");
    pads = ctx.getInts("pads");
    value = ctx.getFloat("value", 0.0);
  } else {
    TCPU_ASSIGN(pads, ctx.constInts(1, "pads"));
    if (ctx.hasInput(2)) {
      TCPU_ASSIGN(value, ctx.constScalar(2, "constant_value"));
    }
  }
  if (ctx.opset() >= 18 && ctx.hasInput(3)) {
    // Opset 18: pads cover only the listed axes.
    TCPU_ASSIGN(std::vector<int64_t> axes, ctx.constInts(3, "axes"));
    if (pads.size() != 2 * axes.size())
      return ctx.error("pads " + shapeToString(pads) + " must have two values "
                       "per axis of " + shapeToString(axes));
    std::vector<int64_t> full(2 * rank, 0);
    for (size_t k = 0; k < axes.size(); ++k) {
      TCPU_ASSIGN(int64_t a, normAxis(ctx, axes[k], rank, "axis"));
      full[a] = pads[k];
      full[a + rank] = pads[k + axes.size()];
    }
    pads = full;
  }
  return single(ctx, ctx.emit(OpKind::Pad, {x},
                              {{"pads", pads}, {"mode", mode}, {"value", value}}));
}

absl::Status convertSplit(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "input"));
  int64_t rank = x->type.rank();
  TCPU_ASSIGN(int64_t axis, normAxis(ctx, ctx.getInt("axis", 0), rank, "axis"));
  int64_t dim = x->type.shape[axis];
  int64_t n = static_cast<int64_t>(ctx.numOutputs());
  std::vector<int64_t> sizes;
  if (ctx.opset() < 13 && ctx.hasAttr("split")) {
    sizes = ctx.getInts("split");
  } else if (ctx.opset() >= 13 && ctx.hasInput(1)) {
    TCPU_ASSIGN(sizes, ctx.constInts(1, "split"));
  } else if (ctx.opset() >= 18 && ctx.hasAttr("num_outputs")) {
    // Opset 18: equal chunks of ceil(dim / num_outputs), the last smaller.
    int64_t parts = ctx.getInt("num_outputs");
    if (parts <= 0 || parts != n)
      return ctx.error("num_outputs " + std::to_string(parts) +
                       " does not match the " + std::to_string(n) + " outputs");
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0, left = dim; i < parts; ++i, left -= chunk)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, left)));
  } else {
    if (n <= 0 || dim % n != 0)
      return ctx.error("cannot split dim " + std::to_string(dim) + " of " +
                       x->type.str() + " into " + std::to_string(n) +
                       " equal parts");
    sizes.assign(n, dim / n);
  }
  if (static_cast<int64_t>(sizes.size()) != n)
    return ctx.error("split sizes " + shapeToString(sizes) + " do not match the " +
                     std::to_string(n) + " outputs");
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0)
      return ctx.error("split sizes " + shapeToString(sizes) + " are negative");
    total += s;
  }
  if (total != dim)
    return ctx.error("split sizes " + shapeToString(sizes) + " sum to " +
                     std::to_string(total) + ", not the " + std::to_string(dim) +
                     " of axis " + std::to_string(axis) + " of " + x->type.str());
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    TCPU_ASSIGN(Value * part,
                ctx.emit(OpKind::Slice, {x},
                         {{"starts", std::vector<int64_t>{offset}},
                          {"ends", std::vector<int64_t>{offset + sizes[i]}},
                          {"axes", std::vector<int64_t>{axis}}}));
    ctx.setOutput(i, part);
    offset += sizes[i];
  }
  return absl::OkStatus();
}

// ----- Reductions -------------------------------------------------------------------

namespace {

/// `axesInputSince`: the first opset where axes is an input, not an attribute.
absl::Status reduce(NodeContext &ctx, OpKind kind, int64_t axesInputSince) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "data"));
  std::optional<std::vector<int64_t>> axes;
  bool noop = false;
  if (ctx.opset() >= axesInputSince) {
    if (ctx.hasInput(1)) {
      TCPU_ASSIGN(axes, ctx.constInts(1, "axes"));
    }
    noop = ctx.getInt("noop_with_empty_axes", 0) != 0;
  } else if (ctx.hasAttr("axes")) {
    axes = ctx.getInts("axes");
  }
  if (axes && axes->empty())
    axes.reset();
  if (!axes && noop) {
    ctx.setOutput(0, x);
    return absl::OkStatus();
  }
  Attributes attrs{{"keepdim", int64_t{ctx.getInt("keepdims", 1) != 0}}};
  if (axes)
    attrs.set("axes", *axes);
  // Opset 20 allows bool for ReduceMax/ReduceMin (any / all): reduce as u8.
  if (x->type.dtype == DType::Bool &&
      (kind == OpKind::ReduceMax || kind == OpKind::ReduceMin)) {
    TCPU_ASSIGN(Value * asU8, ctx.cast(x, DType::U8));
    TCPU_ASSIGN(Value * r, ctx.emit(kind, {asU8}, std::move(attrs)));
    return single(ctx, ctx.cast(r, DType::Bool));
  }
  return single(ctx, ctx.emit(kind, {x}, std::move(attrs)));
}

} // namespace

absl::Status convertReduceSum(NodeContext &ctx) {
  return reduce(ctx, OpKind::ReduceSum, 13);
}
absl::Status convertReduceMean(NodeContext &ctx) {
  return reduce(ctx, OpKind::ReduceMean, 18);
}
absl::Status convertReduceMax(NodeContext &ctx) {
  return reduce(ctx, OpKind::ReduceMax, 18);
}
absl::Status convertReduceMin(NodeContext &ctx) {
  return reduce(ctx, OpKind::ReduceMin, 18);
}
absl::Status convertReduceProd(NodeContext &ctx) {
  return reduce(ctx, OpKind::ReduceProd, 18);
}

absl::Status convertArgMax(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "data"));
  return single(ctx, ctx.emit(OpKind::Argmax, {x},
                              {{"axis", ctx.getInt("axis", 0)},
                               {"keepdim", int64_t{ctx.getInt("keepdims", 1) != 0}},
                               {"select_last_index",
                                int64_t{ctx.getInt("select_last_index", 0) != 0}}}));
}

} // namespace tcpu::onnximport
