//===- Layout.cpp - Blocked-layout ops: inference and reference ------===//
//
// to_blocked, from_blocked, conv2d_blocked and depthwise_conv2d_blocked:
// the ops that select-layout (passes/SelectLayout.cpp) introduces so that
// conv nets run in a blocked NCHWc layout, spelled out as ordinary 5-D
// shapes [N, ceil(C/B), H, W, B] (channel c at block c / B, lane c % B;
// lanes past C hold zeros). The shapes carry the layout, so no other op
// needs to know about it.
//
// conv2d_blocked's weight is the conv weight reordered to
// [OCb, ICb, KH, KW, Bi, Bo] (w[ocb,icb,kh,kw,bi,bo] = W[ocb*Bo+bo,
// icb*Bi+bi, kh, kw], zero past the real channels) so that the kernel loads
// one vector of Bo output channels per (input channel, kh, kw). A plain
// NCHW input is read with Bi = 1 and ICb = C (the stem conv of a net, C = 3).
// depthwise_conv2d_blocked's weight [Cb, KH, KW, B] holds channel c's filter
// in lane c % B, so each tap is one vector of B channels, as the input pixel.
//
//===----------------------------------------------------------------------===//
#include "ir/IntMath.h"
#include "ir/ops/OpSupport.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tcpu {
namespace {

using ops::invalid;

std::string listStr(const std::vector<int64_t> &v) {
  return attrValueToString(AttrValue(v));
}

absl::Status requireF32(const InferContext &ctx, size_t i) {
  return ops::requireDType(
      ctx, i, [](DType t) { return t == DType::F32; }, "dtype f32");
}

/// The operands and attributes of conv2d_blocked and
/// depthwise_conv2d_blocked as the references read them, and their common
/// epilogue.
struct BlockedConvData {
  explicit BlockedConvData(const EvalContext &ctx)
      : x(ops::toDoubleVector(ctx.operand(0))),
        w(ops::toDoubleVector(ctx.operand(1))),
        st(ctx.attrs.getInts("strides")), pads(ctx.attrs.getInts("pads")),
        dil(ctx.attrs.getInts("dilations")),
        act(ctx.attrs.getString("activation")),
        lo(ctx.attrs.has("clip_min")
               ? ctx.attrs.getFloat("clip_min")
               : -std::numeric_limits<double>::infinity()),
        hi(ctx.attrs.has("clip_max")
               ? ctx.attrs.getFloat("clip_max")
               : std::numeric_limits<double>::infinity()) {
    if (ctx.has(2))
      bias = ops::toDoubleVector(ctx.operand(2));
    if (ctx.has(3))
      res = ops::toDoubleVector(ctx.operand(3));
  }
  /// The accumulator's start for output channel c.
  double start(int64_t c) const { return bias.empty() ? 0.0 : bias[c]; }
  /// The result at flat index i of the accumulated value: residual, then
  /// activation.
  double finish(double acc, int64_t i) const {
    if (!res.empty())
      acc += res[i];
    if (act == "relu")
      return std::max(acc, 0.0);
    if (act == "clip")
      return std::min(std::max(acc, lo), hi); // as clip's min(max(x,lo),hi)
    return acc;
  }
  std::vector<double> x, w, bias, res;
  std::vector<int64_t> st, pads, dil;
  std::string act;
  double lo, hi;
};

/// Output extent of a conv window over `in`; <= 0 when no window fits.
int64_t convOutSize(int64_t in, int64_t kernel, int64_t stride,
                    int64_t padBegin, int64_t padEnd, int64_t dilation) {
  int64_t span = in + padBegin + padEnd - (dilation * (kernel - 1) + 1);
  return span < 0 ? 0 : span / stride + 1;
}

} // namespace

// ----- to_blocked / from_blocked -------------------------------------------

absl::Status inferToBlocked(InferContext &ctx) {
  for (auto check : {ops::requirePlainOperands(ctx), requireF32(ctx, 0),
                     ops::requireRank(ctx, 0, 4, 4)})
    if (!check.ok())
      return check;
  int64_t b = ctx.attrs.getInt("block");
  if (b < 1)
    return invalid("to_blocked block must be positive, got " +
                   std::to_string(b));
  const Shape &s = ctx.operand(0).shape;
  ctx.results = {TensorType(DType::F32,
                            {s[0], ceilDiv(s[1], b), s[2], s[3], b})};
  return absl::OkStatus();
}

absl::Status inferFromBlocked(InferContext &ctx) {
  for (auto check : {ops::requirePlainOperands(ctx), requireF32(ctx, 0),
                     ops::requireRank(ctx, 0, 5, 5)})
    if (!check.ok())
      return check;
  const TensorType &x = ctx.operand(0);
  int64_t c = ctx.attrs.getInt("channels"), cb = x.shape[1], b = x.shape[4];
  // Every block must hold at least one real channel: more padding than a
  // block means the value was not made by to_blocked of c channels.
  if (c < 1 || c > cb * b || c <= (cb - 1) * b)
    return invalid("from_blocked channels = " + std::to_string(c) +
                   " does not fit x " + x.str() + ": expected " +
                   std::to_string((cb - 1) * b + 1) + " to " +
                   std::to_string(cb * b));
  ctx.results = {TensorType(DType::F32, {x.shape[0], c, x.shape[2], x.shape[3]})};
  return absl::OkStatus();
}

namespace {

/// The reference of both reorders: plain [N, C, H, W] <-> blocked
/// [N, Cb, H, W, B]; padding lanes of a blocked result stay 0.
absl::StatusOr<std::vector<Tensor>> reorder(const EvalContext &ctx,
                                            bool toBlocked) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  const Shape &plain = toBlocked ? ctx.operand(0).shape() : ctx.resultTypes[0].shape;
  const Shape &blocked = toBlocked ? ctx.resultTypes[0].shape : ctx.operand(0).shape();
  std::vector<double> x = ops::toDoubleVector(ctx.operand(0));
  std::vector<double> y(static_cast<size_t>(ctx.resultTypes[0].numElements()));
  int64_t C = plain[1], plane = plain[2] * plain[3], B = blocked[4],
          Cb = blocked[1];
  for (int64_t n = 0; n < plain[0]; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < plane; ++p) {
        int64_t pi = (n * C + c) * plane + p;
        int64_t bi = ((n * Cb + c / B) * plane + p) * B + c % B;
        y[toBlocked ? bi : pi] = x[toBlocked ? pi : bi];
      }
  return ops::one(ops::tensorFromDoubles(ctx.resultTypes[0], y));
}

} // namespace

absl::StatusOr<std::vector<Tensor>> evalToBlocked(const EvalContext &ctx) {
  return reorder(ctx, true);
}

absl::StatusOr<std::vector<Tensor>> evalFromBlocked(const EvalContext &ctx) {
  return reorder(ctx, false);
}

// ----- conv2d_blocked ------------------------------------------------------

namespace {

/// The checks that conv2d_blocked and depthwise_conv2d_blocked share on
/// their operands and attributes: x of rank xMinRank..5, a weight of
/// rank wRank, a bias of rank 1, a residual of rank 5, all f32.
absl::Status checkBlockedConvOperands(InferContext &ctx, int64_t xMinRank,
                                      int64_t wRank) {
  if (absl::Status s = ops::requirePlainOperands(ctx); !s.ok())
    return s;
  for (size_t i = 0; i < 4; ++i)
    if (ctx.has(i))
      if (absl::Status s = requireF32(ctx, i); !s.ok())
        return s;
  for (auto check :
       {ops::requireRank(ctx, 0, xMinRank, 5),
        ops::requireRank(ctx, 1, wRank, wRank), ops::requireRank(ctx, 2, 1, 1),
        ops::requireRank(ctx, 3, 5, 5),
        ops::checkIntList(ctx, "strides", 2, 1, "positive integers"),
        ops::checkIntList(ctx, "dilations", 2, 1, "positive integers"),
        ops::checkIntList(ctx, "pads", 4, 0,
                          "non-negative integers [top, left, bottom, right]")})
    if (!check.ok())
      return check;
  return absl::OkStatus();
}

/// The result [N, OCb, OH, OW, Bo] of a blocked conv with a KH x KW window
/// whose (checked) weight is `w`; checks bias, activation and residual.
absl::Status inferBlockedConvResult(InferContext &ctx, const std::string &name,
                                    int64_t KH, int64_t KW, int64_t ocb,
                                    int64_t bo) {
  const TensorType &x = ctx.operand(0), &w = ctx.operand(1);
  if (ctx.has(2) && ctx.operand(2).shape[0] != ocb * bo)
    return invalid(name + " bias " + ctx.operand(2).str() +
                   " does not match weight " + w.str() + " (expected [" +
                   std::to_string(ocb * bo) + "])");
  std::string act = ctx.attrs.getString("activation");
  if (act != "none" && act != "relu" && act != "clip")
    return invalid(name + " activation must be \"none\", \"relu\" or "
                   "\"clip\", got \"" + act + "\"");
  std::vector<int64_t> st = ctx.attrs.getInts("strides"),
                       pads = ctx.attrs.getInts("pads"),
                       dil = ctx.attrs.getInts("dilations");
  int64_t oh = convOutSize(x.shape[2], KH, st[0], pads[0], pads[2], dil[0]);
  int64_t ow = convOutSize(x.shape[3], KW, st[1], pads[1], pads[3], dil[1]);
  if (oh < 1 || ow < 1)
    return invalid(name + " output would be empty: x " + x.str() +
                   ", weight " + w.str() + ", pads " + listStr(pads) +
                   ", dilations " + listStr(dil));
  TensorType out(DType::F32, {x.shape[0], ocb, oh, ow, bo});
  if (ctx.has(3) && ctx.operand(3).shape != out.shape)
    return invalid(name + " residual " + ctx.operand(3).str() +
                   " does not match the result " + out.str());
  ctx.results = {out};
  return absl::OkStatus();
}

} // namespace

absl::Status inferConv2dBlocked(InferContext &ctx) {
  if (absl::Status s = checkBlockedConvOperands(ctx, 4, 6); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0), &w = ctx.operand(1);
  bool blocked = x.rank() == 5;
  int64_t bi = blocked ? x.shape[4] : 1;
  if (w.shape[1] != x.shape[1] || w.shape[4] != bi)
    return invalid("conv2d_blocked weight " + w.str() + " does not match x " +
                   x.str() + ": expected [OCb, " + std::to_string(x.shape[1]) +
                   ", KH, KW, " + std::to_string(bi) + ", Bo]");
  if (w.shape[0] < 1 || w.shape[2] < 1 || w.shape[3] < 1 || w.shape[5] < 1)
    return invalid("conv2d_blocked weight " + w.str() +
                   " has an empty dimension");
  return inferBlockedConvResult(ctx, "conv2d_blocked", w.shape[2], w.shape[3],
                                w.shape[0], w.shape[5]);
}

absl::StatusOr<std::vector<Tensor>> evalConv2dBlocked(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  const Shape &xs = ctx.operand(0).shape(), &ws = ctx.operand(1).shape();
  const TensorType &rt = ctx.resultTypes[0];
  const BlockedConvData d(ctx);
  const std::vector<double> &x = d.x, &w = d.w;
  const std::vector<int64_t> &st = d.st, &pads = d.pads, &dil = d.dil;
  int64_t N = xs[0], ICb = xs[1], H = xs[2], W = xs[3];
  int64_t Bi = ws[4], OCb = ws[0], KH = ws[2], KW = ws[3], Bo = ws[5];
  int64_t OH = rt.shape[2], OW = rt.shape[3];
  std::vector<double> y(static_cast<size_t>(rt.numElements()));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ocb = 0; ocb < OCb; ++ocb)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          for (int64_t bo = 0; bo < Bo; ++bo) {
            double acc = d.start(ocb * Bo + bo);
            for (int64_t icb = 0; icb < ICb; ++icb)
              for (int64_t kh = 0; kh < KH; ++kh) {
                int64_t ih = oh * st[0] - pads[0] + kh * dil[0];
                if (ih < 0 || ih >= H)
                  continue;
                for (int64_t kw = 0; kw < KW; ++kw) {
                  int64_t iw = ow * st[1] - pads[1] + kw * dil[1];
                  if (iw < 0 || iw >= W)
                    continue;
                  const double *xp = &x[(((n * ICb + icb) * H + ih) * W + iw) * Bi];
                  const double *wp =
                      &w[((((ocb * ICb + icb) * KH + kh) * KW + kw) * Bi) * Bo + bo];
                  for (int64_t bi = 0; bi < Bi; ++bi)
                    acc += xp[bi] * wp[bi * Bo];
                }
              }
            int64_t i = (((n * OCb + ocb) * OH + oh) * OW + ow) * Bo + bo;
            y[i] = d.finish(acc, i);
          }
  return ops::one(ops::tensorFromDoubles(rt, y));
}

// ----- depthwise_conv2d_blocked --------------------------------------------

absl::Status inferDepthwiseConv2dBlocked(InferContext &ctx) {
  if (absl::Status s = checkBlockedConvOperands(ctx, 5, 4); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0), &w = ctx.operand(1);
  if (w.shape[0] != x.shape[1] || w.shape[3] != x.shape[4])
    return invalid("depthwise_conv2d_blocked weight " + w.str() +
                   " does not match x " + x.str() + ": expected [" +
                   std::to_string(x.shape[1]) + ", KH, KW, " +
                   std::to_string(x.shape[4]) + "]");
  if (w.shape[1] < 1 || w.shape[2] < 1)
    return invalid("depthwise_conv2d_blocked weight " + w.str() +
                   " has an empty dimension");
  return inferBlockedConvResult(ctx, "depthwise_conv2d_blocked", w.shape[1],
                                w.shape[2], x.shape[1], x.shape[4]);
}

absl::StatusOr<std::vector<Tensor>>
evalDepthwiseConv2dBlocked(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  const Shape &xs = ctx.operand(0).shape(), &ws = ctx.operand(1).shape();
  const TensorType &rt = ctx.resultTypes[0];
  const BlockedConvData d(ctx);
  const std::vector<double> &x = d.x, &w = d.w;
  const std::vector<int64_t> &st = d.st, &pads = d.pads, &dil = d.dil;
  int64_t N = xs[0], Cb = xs[1], H = xs[2], W = xs[3], B = xs[4];
  int64_t KH = ws[1], KW = ws[2], OH = rt.shape[2], OW = rt.shape[3];
  std::vector<double> y(static_cast<size_t>(rt.numElements()));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t cb = 0; cb < Cb; ++cb)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          for (int64_t l = 0; l < B; ++l) {
            double acc = d.start(cb * B + l);
            for (int64_t kh = 0; kh < KH; ++kh) {
              int64_t ih = oh * st[0] - pads[0] + kh * dil[0];
              if (ih < 0 || ih >= H)
                continue;
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t iw = ow * st[1] - pads[1] + kw * dil[1];
                if (iw >= 0 && iw < W)
                  acc += x[(((n * Cb + cb) * H + ih) * W + iw) * B + l] *
                         w[((cb * KH + kh) * KW + kw) * B + l];
              }
            }
            int64_t i = (((n * Cb + cb) * OH + oh) * OW + ow) * B + l;
            y[i] = d.finish(acc, i);
          }
  return ops::one(ops::tensorFromDoubles(rt, y));
}

} // namespace tcpu
