//===- OnnxNN.cpp - Neural-network layer ONNX ops -------------------------===//
//
// MatMul, Gemm, Conv and the pools (auto_pad resolved to explicit pads; 1-D
// runs as 2-D with a unit height: unsqueeze, op, squeeze; 3-D is an error),
// the normalizations (LayerNormalization's optional Mean and InvStdDev become
// reductions in the stash type), Softmax/LogSoftmax (before opset 13 they
// flatten to 2-D at `axis`), and the recurrent layers LSTM/GRU/RNN.
//
//===----------------------------------------------------------------------===//
#include "ir/onnx/ImportContext.h"

#include <algorithm>
#include <cctype>

namespace tcpu::onnximport {

namespace {

absl::Status single(NodeContext &ctx, absl::StatusOr<Value *> r) {
  if (!r.ok())
    return r.status();
  ctx.setOutput(0, *r);
  return absl::OkStatus();
}

std::string lower(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Window geometry of a conv or pool, in ONNX terms for `spatial` dims.
struct Window {
  std::vector<int64_t> kernel, strides, dilations, pads; // pads: begins, ends
};

/// Reads strides, dilations, pads and auto_pad; kernel is given.
absl::StatusOr<Window> readWindow(NodeContext &ctx, const Value *x,
                                  std::vector<int64_t> kernel) {
  size_t n = kernel.size();
  Window w;
  w.kernel = std::move(kernel);
  w.strides = ctx.getInts("strides", std::vector<int64_t>(n, 1));
  w.dilations = ctx.getInts("dilations", std::vector<int64_t>(n, 1));
  w.pads = ctx.getInts("pads", std::vector<int64_t>(2 * n, 0));
  if (w.strides.size() != n || w.dilations.size() != n || w.pads.size() != 2 * n)
    return ctx.error("strides " + shapeToString(w.strides) + ", dilations " +
                     shapeToString(w.dilations) + " and pads " +
                     shapeToString(w.pads) + " do not fit a kernel of " +
                     std::to_string(n) + " spatial dims");
  for (size_t i = 0; i < n; ++i)
    if (w.strides[i] <= 0 || w.dilations[i] <= 0 || w.kernel[i] <= 0)
      return ctx.error("kernel, strides and dilations must be positive");
  std::string autoPad = ctx.getString("auto_pad", "NOTSET");
  if (autoPad == "VALID") {
    std::fill(w.pads.begin(), w.pads.end(), 0);
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    // Output ceil(in / stride); the odd padding goes at the end (UPPER) or
    // at the beginning (LOWER).
    for (size_t i = 0; i < n; ++i) {
      int64_t in = x->type.shape[2 + i];
      int64_t out = (in + w.strides[i] - 1) / w.strides[i];
      int64_t eff = (w.kernel[i] - 1) * w.dilations[i] + 1;
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + eff - in);
      int64_t small = total / 2, big = total - small;
      w.pads[i] = autoPad == "SAME_UPPER" ? small : big;
      w.pads[i + n] = autoPad == "SAME_UPPER" ? big : small;
    }
  } else if (autoPad != "NOTSET") {
    return ctx.error("auto_pad '" + autoPad + "' is not one of NOTSET, "
                     "SAME_UPPER, SAME_LOWER, VALID");
  }
  return w;
}

/// The IR's 2-D attributes ([h, w] lists, pads [top, left, bottom, right]
/// which is ONNX's order) for a 1-D or 2-D window.
void setWindow2d(Attributes &attrs, const Window &w, bool withKernel) {
  if (w.kernel.size() == 1) {
    if (withKernel)
      attrs.set("kernel", std::vector<int64_t>{1, w.kernel[0]});
    attrs.set("strides", std::vector<int64_t>{1, w.strides[0]});
    attrs.set("dilations", std::vector<int64_t>{1, w.dilations[0]});
    attrs.set("pads", std::vector<int64_t>{0, w.pads[0], 0, w.pads[1]});
  } else {
    if (withKernel)
      attrs.set("kernel", w.kernel);
    attrs.set("strides", w.strides);
    attrs.set("dilations", w.dilations);
    attrs.set("pads", w.pads);
  }
}

absl::Status requireSpatial12(NodeContext &ctx, const Value *x) {
  int64_t rank = x->type.rank();
  if (rank == 3 || rank == 4)
    return absl::OkStatus();
  if (rank == 5)
    return ctx.error("3-D " + ctx.node.op_type() + " is not supported (input " +
                     x->type.str() + ")");
  return ctx.error("input must have rank 3 (1-D) or 4 (2-D), got " +
                   x->type.str());
}

/// 1-D ops run as 2-D on [N, C, 1, W].
absl::StatusOr<Value *> to2d(NodeContext &ctx, Value *v) {
  return ctx.emit(OpKind::Unsqueeze, {v}, {{"axes", std::vector<int64_t>{2}}});
}
absl::StatusOr<Value *> from2d(NodeContext &ctx, Value *v) {
  return ctx.emit(OpKind::Squeeze, {v}, {{"axes", std::vector<int64_t>{2}}});
}

absl::Status pool(NodeContext &ctx, OpKind kind) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "X"));
  TCPU_TRY(requireSpatial12(ctx, x));
  size_t n = static_cast<size_t>(x->type.rank() - 2);
  std::vector<int64_t> kernel = ctx.getInts("kernel_shape");
  if (kernel.size() != n)
    return ctx.error("kernel_shape " + shapeToString(kernel) + " must have " +
                     std::to_string(n) + " values for input " + x->type.str());
  TCPU_ASSIGN(Window w, readWindow(ctx, x, kernel));
  Attributes attrs{{"ceil_mode", int64_t{ctx.getInt("ceil_mode", 0) != 0}}};
  if (kind == OpKind::MaxPool2d) {
    if (ctx.getInt("storage_order", 0) != 0)
      return ctx.error("storage_order 1 is not supported");
    TCPU_TRY(ctx.requireUnusedOutputsFrom(1, "Indices"));
  } else {
    attrs.set("count_include_pad",
              int64_t{ctx.getInt("count_include_pad", 0) != 0});
  }
  setWindow2d(attrs, w, true);
  Value *in = x;
  if (n == 1) {
    TCPU_ASSIGN(in, to2d(ctx, x));
  }
  TCPU_ASSIGN(Value * r, ctx.emit(kind, {in}, std::move(attrs)));
  if (n == 1) {
    TCPU_ASSIGN(r, from2d(ctx, r));
  }
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

absl::Status softmax(NodeContext &ctx, OpKind kind) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "input"));
  int64_t rank = x->type.rank();
  if (ctx.opset() >= 13)
    return single(ctx, ctx.emit(kind, {x}, {{"axis", ctx.getInt("axis", -1)}}));
  // Before opset 13: the input is seen as 2-D [prod(d[:axis]), prod(d[axis:])]
  // and normalized along its second dim.
  int64_t axis = ctx.getInt("axis", 1);
  if (axis < -rank || axis > rank || rank == 0)
    return ctx.error("axis " + std::to_string(axis) +
                     " is out of range for " + x->type.str());
  if (axis < 0)
    axis += rank;
  if (axis == rank - 1)
    return single(ctx, ctx.emit(kind, {x}, {{"axis", int64_t{-1}}}));
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i)
    (i < axis ? outer : inner) *= x->type.shape[i];
  TCPU_ASSIGN(Value * flat, ctx.reshape(x, {outer, inner}));
  TCPU_ASSIGN(Value * s, ctx.emit(kind, {flat}, {{"axis", int64_t{1}}}));
  return single(ctx, ctx.reshape(s, x->type.shape));
}

} // namespace

absl::Status convertMatMul(NodeContext &ctx) {
  TCPU_ASSIGN(Value * a, ctx.required(0, "A"));
  TCPU_ASSIGN(Value * b, ctx.required(1, "B"));
  return single(ctx, ctx.emit(OpKind::Matmul, {a, b}));
}

absl::Status convertGemm(NodeContext &ctx) {
  TCPU_ASSIGN(Value * a, ctx.required(0, "A"));
  TCPU_ASSIGN(Value * b, ctx.required(1, "B"));
  Attributes attrs{{"alpha", ctx.getFloat("alpha", 1.0)},
                   {"beta", ctx.getFloat("beta", 1.0)},
                   {"trans_a", int64_t{ctx.getInt("transA", 0) != 0}},
                   {"trans_b", int64_t{ctx.getInt("transB", 0) != 0}}};
  return single(ctx, ctx.emit(OpKind::Gemm, {a, b, ctx.input(2)}, std::move(attrs)));
}

absl::Status convertConv(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "X"));
  TCPU_ASSIGN(Value * w, ctx.required(1, "W"));
  Value *b = ctx.input(2);
  TCPU_TRY(requireSpatial12(ctx, x));
  size_t n = static_cast<size_t>(x->type.rank() - 2);
  if (w->type.rank() != x->type.rank())
    return ctx.error("weight " + w->type.str() + " and input " + x->type.str() +
                     " have different ranks");
  std::vector<int64_t> kernel(w->type.shape.begin() + 2, w->type.shape.end());
  if (ctx.hasAttr("kernel_shape") && ctx.getInts("kernel_shape") != kernel)
    return ctx.error("kernel_shape " + shapeToString(ctx.getInts("kernel_shape")) +
                     " disagrees with the weight " + w->type.str());
  TCPU_ASSIGN(Window win, readWindow(ctx, x, kernel));
  Attributes attrs{{"groups", ctx.getInt("group", 1)}};
  setWindow2d(attrs, win, false);
  if (n == 1) {
    TCPU_ASSIGN(x, to2d(ctx, x));
    TCPU_ASSIGN(w, to2d(ctx, w));
  }
  TCPU_ASSIGN(Value * r, ctx.emit(OpKind::Conv2d, {x, w, b}, std::move(attrs)));
  if (n == 1) {
    TCPU_ASSIGN(r, from2d(ctx, r));
  }
  ctx.setOutput(0, r);
  return absl::OkStatus();
}

absl::Status convertMaxPool(NodeContext &ctx) {
  return pool(ctx, OpKind::MaxPool2d);
}
absl::Status convertAveragePool(NodeContext &ctx) {
  return pool(ctx, OpKind::AvgPool2d);
}

absl::Status convertGlobalAveragePool(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "X"));
  return single(ctx, ctx.emit(OpKind::GlobalAvgPool, {x}));
}

absl::Status convertGlobalMaxPool(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "X"));
  std::vector<int64_t> axes;
  for (int64_t i = 2; i < x->type.rank(); ++i)
    axes.push_back(i);
  if (axes.empty())
    return ctx.error("input must have rank 3 or more, got " + x->type.str());
  return single(ctx, ctx.emit(OpKind::ReduceMax, {x},
                              {{"axes", axes}, {"keepdim", int64_t{1}}}));
}

absl::Status convertBatchNormalization(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "X"));
  if (ctx.getInt("training_mode", 0) != 0)
    return ctx.error("training mode is not supported (only inference)");
  TCPU_TRY(ctx.requireUnusedOutputsFrom(1, "training statistics"));
  std::vector<Value *> operands{x};
  const char *names[] = {"scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i <= 4; ++i) {
    TCPU_ASSIGN(Value * p, ctx.required(i, names[i - 1]));
    // Opset 15 lets the statistics have another float type than X.
    TCPU_ASSIGN(p, ctx.cast(p, x->type.dtype));
    operands.push_back(p);
  }
  return single(ctx, ctx.emit(OpKind::BatchNorm, operands,
                              {{"epsilon", ctx.getFloat("epsilon", 1e-5)}}));
}

absl::Status convertLayerNormalization(NodeContext &ctx) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "X"));
  TCPU_ASSIGN(Value * scale, ctx.required(1, "Scale"));
  int64_t axis = ctx.getInt("axis", -1);
  double epsilon = ctx.getFloat("epsilon", 1e-5);
  TCPU_ASSIGN(Value * y, ctx.emit(OpKind::LayerNorm, {x, scale, ctx.input(2)},
                                  {{"axis", axis}, {"epsilon", epsilon}}));
  ctx.setOutput(0, y);
  if (!ctx.outputUsed(1) && !ctx.outputUsed(2))
    return absl::OkStatus();

  // The optional outputs, as ONNX's function body defines them: in the
  // stash type (default FLOAT), over the axes [axis, rank), keeping dims:
  //   Mean = ReduceMean(X); InvStdDev = 1 / sqrt(ReduceMean((X - Mean)^2) + epsilon)
  absl::StatusOr<DType> stash = mapElemType(
      static_cast<int32_t>(ctx.getInt("stash_type", 1)), "stash_type");
  if (!stash.ok())
    return ctx.error(std::string(stash.status().message()));
  if (!isFloat(*stash))
    return ctx.error("stash_type " + std::string(dtypeName(*stash)) +
                     " is not a floating-point type");
  int64_t rank = x->type.rank();
  if (axis < -rank || axis >= rank)
    return ctx.error("axis " + std::to_string(axis) +
                     " is out of range for rank " + std::to_string(rank));
  if (axis < 0)
    axis += rank;
  std::vector<int64_t> axes;
  for (int64_t a = axis; a < rank; ++a)
    axes.push_back(a);
  Attributes reduceAttrs{{"axes", axes}, {"keepdim", int64_t{1}}};
  TCPU_ASSIGN(Value * xs, ctx.cast(x, *stash));
  TCPU_ASSIGN(Value * mean, ctx.emit(OpKind::ReduceMean, {xs}, reduceAttrs));
  ctx.setOutput(1, mean);
  if (!ctx.outputUsed(2))
    return absl::OkStatus();
  TCPU_ASSIGN(Value * d, ctx.emit(OpKind::Sub, {xs, mean}));
  TCPU_ASSIGN(Value * dd, ctx.emit(OpKind::Mul, {d, d}));
  TCPU_ASSIGN(Value * var, ctx.emit(OpKind::ReduceMean, {dd}, reduceAttrs));
  TCPU_ASSIGN(Value * varEps,
              ctx.emit(OpKind::Add, {var, ctx.scalar(epsilon, *stash)}));
  TCPU_ASSIGN(Value * inv, ctx.emit(OpKind::Rsqrt, {varEps}));
  ctx.setOutput(2, inv);
  return absl::OkStatus();
}

absl::Status convertSoftmax(NodeContext &ctx) {
  return softmax(ctx, OpKind::Softmax);
}
absl::Status convertLogSoftmax(NodeContext &ctx) {
  return softmax(ctx, OpKind::LogSoftmax);
}

// ----- Recurrent layers ----------------------------------------------------------------

namespace {

enum class Cell { Lstm, Gru, Rnn };

absl::Status recurrent(NodeContext &ctx, Cell cell) {
  TCPU_ASSIGN(Value * x, ctx.required(0, "X"));
  TCPU_ASSIGN(Value * w, ctx.required(1, "W"));
  TCPU_ASSIGN(Value * r, ctx.required(2, "R"));
  if (x->type.rank() != 3 || r->type.rank() != 3)
    return ctx.error("X and R must have rank 3, got " + x->type.str() + " and " +
                     r->type.str());
  std::string direction = ctx.getString("direction", "forward");
  int64_t dirs = direction == "bidirectional" ? 2 : 1;
  int64_t layout = ctx.getInt("layout", 0);
  int64_t hidden = ctx.getInt("hidden_size", r->type.shape[2]);

  // sequence_lens: only "every sequence is full length" is supported.
  if (ctx.hasInput(4)) {
    TCPU_ASSIGN(std::vector<int64_t> lens, ctx.constInts(4, "sequence_lens"));
    int64_t seq = x->type.shape[layout == 1 ? 1 : 0];
    for (int64_t l : lens)
      if (l != seq)
        return ctx.error("sequence_lens " + shapeToString(lens) +
                         " differ from the sequence length " +
                         std::to_string(seq) + "; variable lengths are not "
                         "supported");
  }

  // Activations: the defaults, except RNN's single f in {tanh, relu, sigmoid}.
  std::vector<std::string> acts = ctx.getStrings("activations");
  std::vector<std::string> defaults = cell == Cell::Lstm
                                          ? std::vector<std::string>{"sigmoid", "tanh", "tanh"}
                                      : cell == Cell::Gru
                                          ? std::vector<std::string>{"sigmoid", "tanh"}
                                          : std::vector<std::string>{"tanh"};
  std::string rnnActivation = "tanh";
  if (!acts.empty()) {
    std::vector<std::string> got;
    for (const std::string &a : acts)
      got.push_back(lower(a));
    bool ok = got.size() == defaults.size() * dirs;
    if (ok && cell == Cell::Rnn) {
      rnnActivation = got[0];
      ok = (rnnActivation == "tanh" || rnnActivation == "relu" ||
            rnnActivation == "sigmoid") &&
           std::all_of(got.begin(), got.end(),
                       [&](const std::string &a) { return a == got[0]; });
    } else {
      for (size_t i = 0; ok && i < got.size(); ++i)
        ok = got[i] == defaults[i % defaults.size()];
    }
    if (!ok) {
      std::string list;
      for (const std::string &a : acts)
        list += (list.empty() ? "" : ", ") + a;
      return ctx.error("activations [" + list + "] are not supported" +
                       (cell == Cell::Rnn
                            ? std::string(" (one of Tanh, Relu, Sigmoid, the "
                                          "same for every direction)")
                            : std::string(" (only the defaults)")));
    }
  }

  Attributes attrs{{"hidden_size", hidden},
                   {"direction", direction},
                   {"layout", layout}};
  if (ctx.hasAttr("clip"))
    attrs.set("clip", ctx.getFloat("clip"));
  std::vector<Value *> operands{x, w, r, ctx.input(3), ctx.input(5)};
  OpKind kind = OpKind::Rnn;
  if (cell == Cell::Lstm) {
    kind = OpKind::Lstm;
    attrs.set("input_forget", int64_t{ctx.getInt("input_forget", 0) != 0});
    operands.push_back(ctx.input(6));
    operands.push_back(ctx.input(7));
  } else if (cell == Cell::Gru) {
    kind = OpKind::Gru;
    attrs.set("linear_before_reset",
              int64_t{ctx.getInt("linear_before_reset", 0) != 0});
  } else {
    attrs.set("activation", rnnActivation);
  }
  TCPU_ASSIGN(std::vector<Value *> results,
              ctx.emitMulti(kind, operands, std::move(attrs)));
  for (size_t i = 0; i < results.size(); ++i)
    ctx.setOutput(i, results[i]);
  return absl::OkStatus();
}

} // namespace

absl::Status convertLSTM(NodeContext &ctx) { return recurrent(ctx, Cell::Lstm); }
absl::Status convertGRU(NodeContext &ctx) { return recurrent(ctx, Cell::Gru); }
absl::Status convertRNN(NodeContext &ctx) { return recurrent(ctx, Cell::Rnn); }

} // namespace tcpu::onnximport
