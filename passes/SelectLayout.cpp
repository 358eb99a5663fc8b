//===- SelectLayout.cpp - Blocked NCHWc activations for conv nets ----------===//
//
// Rewrites each f32 conv2d with a constant weight and bias into
// conv2d_blocked (groups 1) or depthwise_conv2d_blocked (groups = input =
// output channels) on blocked activations with a weight prepacked at
// compile time, absorbing the per-channel bias add, residual add, relu or
// clip that follow it alone; then moves relu/clip/add/mul and max pools
// across from_blocked and cancels to_blocked(from_blocked(y)), so that
// conversions remain only where an op needs NCHW (avg pools, reshapes,
// graph outputs): a MobileNet runs blocked from its stem to its pool.
// Convs next to another grouped conv (which stays NCHW) stay NCHW too: the
// conversions around it would cost more than blocking gains.
// Requires a verified graph; best after fold-batch-norm (the bias then sits
// in the conv) and before fuse-epilogue (which would take the conv first).
// Option `block` (default 8): the channel block, the target's f32 vector width.
//
//===----------------------------------------------------------------------===//
#include "passes/Pass.h"
#include "ir/IntMath.h"
#include "passes/PassUtils.h"
#include "passes/Remarks.h"

#include <algorithm>
#include <unordered_map>

namespace tcpu {

namespace {

constexpr std::string_view kPass = "select-layout";

/// Inputs with at most this many channels stay NCHW (Bi = 1): blocking 3
/// RGB channels into 8 or 16 lanes would multiply the stem's work.
constexpr int64_t kMaxPlainInputChannels = 4;


Op *soleUser(Graph &graph, Value *v) {
  if (graph.countUses(v) != 1)
    return nullptr;
  for (auto &op : graph.ops())
    for (Value *o : op->operands)
      if (o == v)
        return op.get();
  return nullptr; // the one use is a graph output
}

Op *createNormalized(Graph &graph, OpKind kind, std::vector<Value *> operands,
                     Attributes attrs, TensorType type, const Location &loc,
                     Graph::OpList::iterator before) {
  normalizeAttributes(opInfo(kind), attrs);
  return graph.createOp(kind, std::move(operands), std::move(attrs), {type},
                        loc, before);
}

/// to_blocked of each value converted so far: a value used by several
/// convs (a residual block's input) is converted once. Each is created
/// before its first use, so it is defined before the later ones.
using Conversions = std::unordered_map<Value *, Value *>;

Value *toBlocked(Graph &graph, Conversions &done, Value *x, int64_t block,
                 Graph::OpList::iterator before) {
  Value *&y = done[x];
  if (y)
    return y;
  const Shape &s = x->type.shape;
  TensorType t(DType::F32, {s[0], ceilDiv(s[1], block), s[2], s[3], block});
  y = createNormalized(graph, OpKind::ToBlocked, {x}, {{"block", block}}, t, {},
                       before)
          ->result();
  return y;
}

Value *fromBlocked(Graph &graph, Value *y, int64_t channels,
                   Graph::OpList::iterator before, const Location &loc) {
  const Shape &s = y->type.shape;
  TensorType t(DType::F32, {s[0], channels, s[2], s[3]});
  return createNormalized(graph, OpKind::FromBlocked, {y},
                          {{"channels", channels}}, t, loc, before)
      ->result();
}

/// The per-channel values of a constant of shape [C,1,1] or [1,C,1,1].
const Tensor *perChannelConstant(Value *v, int64_t channels) {
  const Tensor *t = constantValueOf(v);
  if (!t || t->dtype() != DType::F32 || !t->type().isPlain())
    return nullptr;
  Shape a{channels, 1, 1}, b{1, channels, 1, 1};
  return t->shape() == a || t->shape() == b ? t : nullptr;
}

/// A depthwise conv: one filter per channel (groups = C = OC).
bool isDepthwise(const Op &conv) {
  int64_t groups = conv.attrs.getInt("groups", 1);
  const TensorType &w = conv.operand(1)->type;
  return groups != 1 && w.rank() == 4 && w.shape[1] == 1 &&
         w.shape[0] == groups && conv.operand(0)->type.rank() == 4 &&
         conv.operand(0)->type.shape[1] == groups;
}

/// Why `conv` cannot be blocked, leaving its neighbours aside, or "".
std::string whyNotBlockedAlone(const Op &conv) {
  const TensorType &x = conv.operand(0)->type;
  if (x.dtype != DType::F32 || !x.isPlain() || x.rank() != 4)
    return "its input " + x.str() + " is not a plain rank-4 f32 tensor";
  if (conv.attrs.getInt("groups", 1) != 1 && !isDepthwise(conv))
    return "it has groups=" + std::to_string(conv.attrs.getInt("groups", 1)) +
           " (only groups=1 and depthwise convs are blocked)";
  const Tensor *w = constantValueOf(conv.operand(1));
  if (!w || w->dtype() != DType::F32 || !w->type().isPlain())
    return "its weight is not an f32 constant";
  if (conv.operand(2) && !constantValueOf(conv.operand(2)))
    return "its bias is not a constant";
  return "";
}

/// A grouped conv that stays NCHW.
bool isGroupedConv(const Op *op) {
  return op && op->kind() == OpKind::Conv2d &&
         op->attrs.getInt("groups", 1) != 1 && !whyNotBlockedAlone(*op).empty();
}

/// A grouped conv that stays NCHW next to `conv`: its input comes from one
/// through relu/clip, or its result (after the bias and activation it would
/// absorb) feeds one. Blocking `conv` would add two conversions of a large
/// activation for little gain; nullptr when there is none.
const Op *groupedNeighbour(Graph &graph, const Op &conv) {
  const Op *up = conv.operand(0)->definingOp();
  while (up && (up->kind() == OpKind::Relu || up->kind() == OpKind::Clip))
    up = up->operand(0)->definingOp();
  if (isGroupedConv(up))
    return up;
  std::vector<const Value *> frontier = {conv.result()};
  for (int depth = 0; depth < 3 && !frontier.empty(); ++depth) {
    std::vector<const Value *> next;
    for (auto &op : graph.ops())
      for (Value *o : op->operands)
        if (std::find(frontier.begin(), frontier.end(), o) != frontier.end()) {
          if (isGroupedConv(op.get()))
            return op.get();
          OpKind k = op->kind();
          if (k == OpKind::Relu || k == OpKind::Clip || k == OpKind::Add)
            next.push_back(op->result());
        }
    frontier = std::move(next);
  }
  return nullptr;
}

/// Why `conv` cannot be blocked, or "".
std::string whyNotBlocked(Graph &graph, const Op &conv) {
  if (std::string why = whyNotBlockedAlone(conv); !why.empty())
    return why;
  if (const Op *g = groupedNeighbour(graph, conv))
    return "its neighbour " + remarkName(*g) +
           " stays NCHW (grouped), and the conversions would cost more than "
           "blocking saves";
  return "";
}

/// Rewrites `conv` and the ops it absorbs.
void blockConv(Graph &graph, Conversions &done, Op &conv, int64_t B) {
  const Tensor &w = *constantValueOf(conv.operand(1));
  const Shape &ws = w.shape();
  const bool depthwise = isDepthwise(conv);
  int64_t OC = ws[0], C = depthwise ? OC : ws[1], KH = ws[2], KW = ws[3];
  bool plainInput = !depthwise && (C <= kMaxPlainInputChannels || C < B);
  int64_t Bi = plainInput ? 1 : B, ICb = plainInput ? C : ceilDiv(C, B);
  int64_t OCb = ceilDiv(OC, B);

  // Epilogue: bias, then at most one residual add, then relu or clip.
  std::vector<double> bias(static_cast<size_t>(OCb * B), 0.0);
  bool hasBias = conv.operand(2) != nullptr;
  if (hasBias)
    for (int64_t c = 0; c < OC; ++c)
      bias[c] = constantValueOf(conv.operand(2))->elementAsDouble(c);
  Value *residual = nullptr;
  Attributes attrs;
  for (const char *k : {"strides", "pads", "dilations"})
    attrs.set(k, conv.attrs.getInts(k));
  std::string act = "none";
  Op *last = &conv;
  while (act == "none") {
    Op *user = soleUser(graph, last->result());
    if (!user || user->result()->type != last->result()->type)
      break;
    if (user->kind() == OpKind::Relu) {
      act = "relu";
    } else if (user->kind() == OpKind::Clip) {
      act = "clip";
      for (const char *k : {"min", "max"})
        if (user->attrs.has(k))
          attrs.set(std::string("clip_") + k, user->attrs.getFloat(k));
    } else if (user->kind() == OpKind::Add) {
      Value *other = user->operand(user->operand(0) == last->result() ? 1 : 0);
      if (const Tensor *c = perChannelConstant(other, OC); c && !residual) {
        for (int64_t i = 0; i < OC; ++i)
          bias[i] += c->elementAsDouble(i);
        hasBias = true;
      } else if (other->type == last->result()->type && !residual) {
        residual = other;
      } else {
        break;
      }
    } else {
      break;
    }
    last = user;
  }
  attrs.set("activation", act);

  // Everything is inserted before the last absorbed op, where the input,
  // the residual and the constants are all defined.
  auto at = graph.find(last);
  // Depthwise: [OCb, KH, KW, B], filter o in lane o % B; else
  // [OCb, ICb, KH, KW, Bi, B] (ir/ops/Layout.cpp).
  Shape packedShape = depthwise ? Shape{OCb, KH, KW, B}
                                : Shape{OCb, ICb, KH, KW, Bi, B};
  std::vector<double> packed(
      static_cast<size_t>(product(packedShape, 0, packedShape.size())), 0.0);
  auto packedIndex = [&](int64_t o, int64_t c, int64_t kh, int64_t kw) {
    if (depthwise)
      return ((o / B * KH + kh) * KW + kw) * B + o % B;
    return ((((o / B * ICb + c / Bi) * KH + kh) * KW + kw) * Bi + c % Bi) * B +
           o % B;
  };
  const int64_t wC = ws[1]; // input channels per filter (1: depthwise)
  for (int64_t o = 0; o < OC; ++o)
    for (int64_t c = 0; c < wC; ++c)
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw)
          packed[packedIndex(o, c, kh, kw)] =
              w.elementAsDouble(((o * wC + c) * KH + kh) * KW + kw);
  std::vector<Value *> operands = {
      plainInput ? conv.operand(0) : toBlocked(graph, done, conv.operand(0), B, at),
      newF32Constant(graph, at, packedShape, packed, conv.loc),
      hasBias ? newF32Constant(graph, at, {OCb * B}, bias, conv.loc) : nullptr,
      residual ? toBlocked(graph, done, residual, B, at) : nullptr};
  if (!residual)
    operands.pop_back();
  const Shape &ys = conv.result()->type.shape;
  TensorType yt(DType::F32, {ys[0], OCb, ys[2], ys[3], B});
  Op *bc = createNormalized(
      graph, depthwise ? OpKind::DepthwiseConv2dBlocked : OpKind::Conv2dBlocked,
      std::move(operands), std::move(attrs), yt, conv.loc, at);
  bc->result()->name = last->result()->name;
  Value *y = fromBlocked(graph, bc->result(), OC, at, last->loc);
  graph.replaceAllUsesWith(last->result(), y);
  if (remarksEnabled())
    remark(Remark::Applied, kPass,
           remarkName(conv) + (depthwise ? " blocked as depthwise" : " blocked") +
               " (block " + std::to_string(B) +
               (plainInput ? ", plain input" : "") + ", activation " +
               bc->attrs.getString("activation") +
               (residual ? ", residual" : "") + ")");
}

/// An elementwise op all of whose operands are from_blocked of one block
/// and channel count runs on the blocked values instead.
bool moveAcrossFromBlocked(Graph &graph, Op &op) {
  OpKind k = op.kind();
  if (k != OpKind::Relu && k != OpKind::Clip && k != OpKind::Add &&
      k != OpKind::Mul)
    return false;
  std::vector<Value *> blocked;
  for (Value *v : op.operands) {
    Op *d = v ? v->definingOp() : nullptr;
    if (!d || d->kind() != OpKind::FromBlocked || v->type != op.result()->type)
      return false;
    Value *b = d->operand(0);
    if (!blocked.empty() && b->type != blocked[0]->type)
      return false;
    blocked.push_back(b);
  }
  auto at = graph.find(&op);
  Op *moved = graph.createOp(k, blocked, op.attrs, {blocked[0]->type}, op.loc, at);
  moved->result()->name = op.result()->name;
  graph.replaceAllUsesWith(
      op.result(), fromBlocked(graph, moved->result(),
                               op.result()->type.shape[1], at, op.loc));
  return true;
}

/// max_pool2d(from_blocked(y)) -> from_blocked(max_pool2d_blocked(y)), so
/// that the conversions around a conv net's pool cancel. Only undilated
/// pools: their every window reaches the input, so padding lanes stay 0
/// (a window of dilation holes alone would give -inf, and -inf times the
/// zero weight of a padding lane is NaN in the next blocked conv).
bool movePoolAcrossFromBlocked(Graph &graph, Op &op) {
  if (op.kind() != OpKind::MaxPool2d ||
      op.attrs.getInts("dilations", {1, 1}) != std::vector<int64_t>{1, 1})
    return false;
  Op *d = op.operand(0)->definingOp();
  if (!d || d->kind() != OpKind::FromBlocked)
    return false;
  Value *y = d->operand(0);
  const Shape &ys = y->type.shape, &rs = op.result()->type.shape;
  TensorType t(DType::F32, {ys[0], ys[1], rs[2], rs[3], ys[4]});
  auto at = graph.find(&op);
  Op *pool = createNormalized(graph, OpKind::MaxPool2dBlocked, {y}, op.attrs,
                              t, op.loc, at);
  pool->result()->name = op.result()->name;
  graph.replaceAllUsesWith(op.result(),
                           fromBlocked(graph, pool->result(), rs[1], at, op.loc));
  return true;
}

/// to_blocked(from_blocked(y)) -> y.
bool cancelConversion(Graph &graph, Op &op) {
  if (op.kind() != OpKind::ToBlocked)
    return false;
  Op *d = op.operand(0)->definingOp();
  if (!d || d->kind() != OpKind::FromBlocked ||
      d->operand(0)->type != op.result()->type)
    return false;
  graph.replaceAllUsesWith(op.result(), d->operand(0));
  return true;
}

} // namespace

absl::StatusOr<bool> runSelectLayout(Graph &graph, const PassOptions &options) {
  if (absl::Status s = options.checkKnown(std::string(kPass), {"block"}); !s.ok())
    return s;
  absl::StatusOr<int64_t> block = options.getInt("block", 8);
  if (!block.ok())
    return block.status();
  if (*block < 1)
    return absl::InvalidArgumentError("select-layout block must be positive");
  std::vector<Op *> convs;
  for (auto &op : graph.ops())
    if (op->kind() == OpKind::Conv2d)
      convs.push_back(op.get());
  bool changed = false;
  Conversions done;
  for (Op *conv : convs) {
    if (graph.countUses(conv->result()) == 0)
      continue;
    std::string why = whyNotBlocked(graph, *conv);
    if (why.empty()) {
      blockConv(graph, done, *conv, *block);
      changed = true;
    } else if (remarksEnabled()) {
      remark(Remark::Missed, kPass, remarkName(*conv) + " left in NCHW: " + why);
    }
  }
  if (!changed)
    return false;
  removeDeadOps(graph);
  // Ops are in topological order, so one sweep moves whole chains.
  std::vector<Op *> ops;
  for (auto &op : graph.ops())
    ops.push_back(op.get());
  for (Op *op : ops)
    if (!moveAcrossFromBlocked(graph, *op) &&
        !movePoolAcrossFromBlocked(graph, *op))
      cancelConversion(graph, *op);
  removeDeadOps(graph);
  return true;
}

} // namespace tcpu
