//===- BlockedPool.cpp - Lowering of max_pool2d_blocked -------------------===//
//
// The lanes of a blocked [N, Cb, H, W, B] pixel are B channels, so an output
// pixel is the max over its window taps of whole B-lane vectors: no shuffles.
// Rows (n, cb, oh) are split over threads. Padding taps are never loaded:
// per output row the tap rows are clamped into the window's valid range
// [khLo, khHi), and per output column likewise (at compile time for the
// interior columns, whose taps all lie inside, at run time for the few edge
// columns). A clamped tap repeats a valid tap of the same window, which
// leaves a max unchanged; a window with no valid tap (only through dilation
// holes) gives -inf, as the reference. The combine is the reference's
// `if (v > best || v != v) best = v`, so a NaN wins and stays.
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"
#include "ir/IntMath.h"

#include <algorithm>

namespace tcpu {

namespace {

/// Taps beyond this are not unrolled; such pools run on the interpreter.
constexpr int64_t kMaxTaps = 256;


/// One spatial axis: out index o reads input o * stride - pad + k * dil.
struct PoolAxis {
  int64_t in, out, kernel, stride, pad, dil;
  /// First output whose taps all lie inside [0, in), and one past the last
  /// (lo >= hi: there is no such output).
  int64_t interiorLo() const {
    return interiorOutputs(in, out, kernel, stride, pad, dil).first;
  }
  int64_t interiorHi() const {
    return interiorOutputs(in, out, kernel, stride, pad, dil).second;
  }
};

/// Valid taps [lo, hi) of output `o` (an i64), as i64 values: lo =
/// max(0, ceil(-start / dil)), hi = min(kernel, floor((in-1-start) / dil) + 1)
/// with start = o * stride - pad. Divisions of possibly negative values are
/// done on offsets made non-negative first.
std::pair<llvm::Value *, llvm::Value *>
validTaps(LoweringContext &ctx, const PoolAxis &a, llvm::Value *o) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Value *start =
      b.CreateSub(b.CreateMul(o, ctx.i64(a.stride)), ctx.i64(a.pad));
  // -start <= pad < eff, so (-start + dil - 1) / dil with -start clamped
  // at 0 is the ceiling.
  llvm::Value *neg = b.CreateBinaryIntrinsic(
      llvm::Intrinsic::smax, b.CreateNeg(start), ctx.i64(0));
  llvm::Value *lo =
      b.CreateSDiv(b.CreateAdd(neg, ctx.i64(a.dil - 1)), ctx.i64(a.dil));
  // in - 1 - start >= in - 1 - (out-1)*stride + pad; shift by a multiple
  // of dil that makes it non-negative, divide, and shift back.
  const int64_t bias = ceilDiv((a.out - 1) * a.stride + a.dil, a.dil) * a.dil;
  llvm::Value *rem = b.CreateAdd(b.CreateSub(ctx.i64(a.in - 1), start),
                                 ctx.i64(bias));
  llvm::Value *hi = b.CreateAdd(
      b.CreateSub(b.CreateSDiv(rem, ctx.i64(a.dil)), ctx.i64(bias / a.dil)),
      ctx.i64(1));
  hi = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, hi, ctx.i64(a.kernel));
  return {lo, hi};
}

/// Tap k clamped into [lo, hi - 1] and then into [0, kernel) (so that an
/// empty range still addresses the input), as an i64.
llvm::Value *clampTap(LoweringContext &ctx, int64_t k, llvm::Value *lo,
                      llvm::Value *hi, int64_t kernel) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Value *t = b.CreateBinaryIntrinsic(
      llvm::Intrinsic::smin, ctx.i64(k), b.CreateSub(hi, ctx.i64(1)));
  t = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, t, lo);
  t = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, t, ctx.i64(0));
  return b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, t,
                                 ctx.i64(kernel - 1));
}

} // namespace

absl::Status lowerMaxPool2dBlocked(const Op &op, LoweringContext &ctx) {
  const TensorType &xt = op.operand(0)->type, &rt = op.result(0)->type;
  std::vector<int64_t> k = op.attrs.getInts("kernel"),
                       s = op.attrs.getInts("strides", {1, 1}),
                       p = op.attrs.getInts("pads", {0, 0, 0, 0}),
                       d = op.attrs.getInts("dilations", {1, 1});
  if (xt.dtype != DType::F32 || xt.rank() != 5 || k.size() != 2 ||
      s.size() != 2 || p.size() != 4 || d.size() != 2)
    return absl::UnimplementedError("max_pool2d_blocked of " + xt.str() +
                                    " is not lowered");
  if (k[0] * k[1] > kMaxTaps)
    return absl::UnimplementedError(
        "max_pool2d_blocked windows of more than " + std::to_string(kMaxTaps) +
        " taps are not lowered");
  if (rt.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  const int64_t N = xt.shape[0], Cb = xt.shape[1], B = xt.shape[4];
  const PoolAxis h{xt.shape[2], rt.shape[2], k[0], s[0], p[0], d[0]};
  const PoolAxis w{xt.shape[3], rt.shape[3], k[1], s[1], p[1], d[1]};
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy();
  llvm::Type *vt = ctx.vectorOf(f32, static_cast<int>(B));
  llvm::Constant *lowest = llvm::ConstantVector::getSplat(
      llvm::ElementCount::getFixed(static_cast<unsigned>(B)),
      llvm::ConstantFP::getInfinity(f32, /*Negative=*/true));
  auto combine = [&](llvm::Value *acc, llvm::Value *v) {
    llvm::Value *take =
        b.CreateOr(b.CreateFCmpOGT(v, acc), b.CreateFCmpUNO(v, v));
    return b.CreateSelect(take, v, acc);
  };

  std::vector<llvm::Value *> values = {ctx.operandPtr(0), ctx.resultPtr(0)};
  const int64_t rows = N * Cb * h.out;
  // Enough output rows per task to outweigh the task's overhead.
  const int64_t grain = std::max<int64_t>(1, 4096 / (w.out * B * h.kernel));
  ctx.emitParallelFor(rows, grain, values, [&](llvm::Value *first,
                                               llvm::Value *last) {
    ctx.emitLoop(first, last, 1, [&](llvm::Value *r) {
      llvm::Value *oh = b.CreateSRem(r, ctx.i64(h.out));
      llvm::Value *plane = b.CreateMul(b.CreateSDiv(r, ctx.i64(h.out)),
                                       ctx.i64(h.in * w.in * B));
      const auto [khLo, khHi] = validTaps(ctx, h, oh);
      llvm::Value *rowEmpty = b.CreateICmpSGE(khLo, khHi);
      llvm::Value *ih0 =
          b.CreateSub(b.CreateMul(oh, ctx.i64(h.stride)), ctx.i64(h.pad));
      // Element offset of input pixel (tap row kh, column 0) of this row.
      std::vector<llvm::Value *> tapRow;
      for (int64_t kh = 0; kh < h.kernel; ++kh) {
        llvm::Value *ih = b.CreateAdd(
            ih0, b.CreateMul(clampTap(ctx, kh, khLo, khHi, h.kernel),
                             ctx.i64(h.dil)));
        // An empty row range clamps to an out-of-range row: keep it inside.
        ih = b.CreateBinaryIntrinsic(
            llvm::Intrinsic::smax,
            b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, ih,
                                    ctx.i64(h.in - 1)),
            ctx.i64(0));
        tapRow.push_back(b.CreateAdd(
            plane, b.CreateMul(ih, ctx.i64(w.in * B))));
      }
      llvm::Value *out = b.CreateMul(r, ctx.i64(w.out * B));
      // Output column ow whose tap kw reads input column iw(kw) (i64s).
      auto pixel = [&](llvm::Value *ow,
                       const std::function<llvm::Value *(int64_t)> &iw,
                       llvm::Value *empty) {
        llvm::Value *acc = lowest;
        for (int64_t kh = 0; kh < h.kernel; ++kh)
          for (int64_t kw = 0; kw < w.kernel; ++kw)
            acc = combine(acc, ctx.load(vt, f32, values[0],
                                        b.CreateAdd(tapRow[kh],
                                                    b.CreateMul(iw(kw),
                                                                ctx.i64(B)))));
        acc = b.CreateSelect(empty, lowest, acc);
        ctx.store(acc, f32, values[1],
                  b.CreateAdd(out, b.CreateMul(ow, ctx.i64(B))));
      };
      // Edge columns: taps clamped at run time.
      auto edge = [&](llvm::Value *ow) {
        std::pair<llvm::Value *, llvm::Value *> kw = validTaps(ctx, w, ow);
        llvm::Value *kwLo = kw.first, *kwHi = kw.second;
        llvm::Value *iw0 =
            b.CreateSub(b.CreateMul(ow, ctx.i64(w.stride)), ctx.i64(w.pad));
        pixel(ow, [&](int64_t kw) {
          llvm::Value *iw = b.CreateAdd(
              iw0, b.CreateMul(clampTap(ctx, kw, kwLo, kwHi, w.kernel),
                               ctx.i64(w.dil)));
          return b.CreateBinaryIntrinsic(
              llvm::Intrinsic::smax,
              b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, iw,
                                      ctx.i64(w.in - 1)),
              ctx.i64(0));
        }, b.CreateOr(rowEmpty, b.CreateICmpSGE(kwLo, kwHi)));
      };
      const int64_t lo = w.interiorLo(), hi = w.interiorHi();
      ctx.emitLoop(ctx.i64(0), ctx.i64(lo), 1, edge, "owl");
      ctx.emitLoop(ctx.i64(lo), ctx.i64(hi), 1, [&](llvm::Value *ow) {
        llvm::Value *iw0 =
            b.CreateSub(b.CreateMul(ow, ctx.i64(w.stride)), ctx.i64(w.pad));
        pixel(ow, [&](int64_t kw) {
          return b.CreateAdd(iw0, ctx.i64(kw * w.dil));
        }, rowEmpty);
      }, "ow");
      ctx.emitLoop(ctx.i64(hi), ctx.i64(w.out), 1, edge, "owr");
    }, "row");
  });
  ctx.finish();
  return absl::OkStatus();
}

} // namespace tcpu
