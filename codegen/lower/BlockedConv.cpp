//===- BlockedConv.cpp - Direct conv kernel on blocked NCHWc activations ---===//
//
// conv2d_blocked without im2col. One parallel index is one output row
// (group of `ocv` output-channel blocks, n, oh); the row is covered by
// register tiles of ocv x T accumulators, each a vector of Bo output
// channels for one output column. For every (kh, input block, kw, lane bi)
// a tile loads ocv weight vectors (w[ocb, icb, kh, kw, bi, :]) and
// broadcasts one input value per column, then does ocv * T FMAs.
//  - Rows: the kh range is clamped to the rows inside the image once per
//    output row, so padding rows cost nothing.
//  - Columns: tiles whose windows stay inside the image (the interior, a
//    run-time loop) read without checks; the border tiles at each end sit
//    at constant columns, so only their taps inside the image are emitted
//    (reading x through an opaque pointer per kw; see opaqueX). Border
//    tiles take interior columns until they are half a tile wide (planRow).
//  - Weights: a task loops over its rows group by group, and over passes
//    of input blocks outside a group's rows, so one pass's weights stay in
//    L1 for all those rows (ResNet's layer4 has 9 MB of weights for a 7x7
//    output); partial sums wait in `out`. A constant w is repacked at
//    compile time so that a group's weights are contiguous and a tap's ocv
//    vectors adjacent (packWeights).
//  - Bias (the accumulators' start), residual and activation are applied
//    on the accumulators before the one store.
// A plain NCHW input is the case Bi = 1 (ICb = C): the broadcasts then read
// x[n, c, ih, iw] with stride `sw` between columns.
// Vectors are <Bo x float>: Bo = the target's width in the pass's output,
// but any Bo works (LLVM splits or widens the vectors).
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"
#include "codegen/lower/BlockedActivation.h"
#include "codegen/lower/Prepack.h"
#include "ir/IntMath.h"

#include <algorithm>
#include <functional>

namespace tcpu {

namespace {


struct Geometry {
  int64_t N, ICb, H, W, Bi, OCb, KH, KW, Bo, OH, OW;
  int64_t sh, sw, pt, pl, dh, dw;
};

/// Columns per tile at most: more adds registers, not reuse.
constexpr int64_t kMaxTileColumns = 8;
/// Lanes of the input block unrolled per iteration of the lane loop: as
/// fast as unrolling all 16 on ResNet-18, at a quarter of the code (its
/// compile time had doubled with tile-wide border tiles).
constexpr int64_t kUnrolledLanes = 4;

struct Tiling {
  int64_t ocv, T;
};

/// ocv output blocks x T columns fitting the register file: ocv*T
/// accumulators, ocv weight vectors and one broadcast. Prefers an ocv that
/// divides OCb (no tail group) and tiles of at least 4 columns.
Tiling chooseTiling(const Geometry &g, const TargetDescription &target,
                    int VW) {
  int64_t regs = target.vectorRegisters > 0 ? target.vectorRegisters : 16;
  int64_t avail = regs / ceilDiv(g.Bo, VW);
  auto columns = [&](int64_t ocv) {
    return std::min({kMaxTileColumns, (avail - 1) / ocv - 1, g.OW});
  };
  for (bool needDivide : {true, false})
    for (int64_t ocv = std::min<int64_t>(4, g.OCb); ocv >= 1; --ocv) {
      int64_t T = columns(ocv);
      if ((needDivide && g.OCb % ocv != 0) || T < std::min<int64_t>(4, g.OW))
        continue;
      return {ocv, T};
    }
  return {1, std::max<int64_t>(1, columns(1))};
}

class Emitter {
public:
  Emitter(LoweringContext &ctx, const Op &op, const Geometry &g)
      : ctx(ctx), b(ctx.b()), g(g),
        activation(op) {
    f32 = b.getFloatTy();
    vt = ctx.vectorOf(f32, static_cast<int>(g.Bo));
  }

  /// Pointers of the current function (the parallel body's copies).
  llvm::Value *x = nullptr, *w = nullptr, *bias = nullptr, *res = nullptr,
              *out = nullptr;
  /// The row being computed.
  llvm::Value *n = nullptr, *ocb0 = nullptr, *oh = nullptr;

  /// The input blocks [icbBegin, icbEnd) of this pass over the row, and
  /// whether it is the first (the accumulators start from the bias, else
  /// from the partial sums in `out`) and the last (residual, activation).
  /// isFirst/isLast are nullptr when one pass covers every input block.
  llvm::Value *icbBegin = nullptr, *icbEnd = nullptr, *isFirst = nullptr,
              *isLast = nullptr;
  /// The stack slot of opaqueX, in the parallel body.
  llvm::Value *xSlot = nullptr;
  /// Whether w is in the group-interleaved layout of packWeights.
  bool packedW = false;

  /// One output row of `nv` channel blocks with tiles of T columns.
  void emitRow(int64_t nv, int64_t T) {
    if (!xSlot) {
      llvm::IRBuilder<> eb(&ctx.function()->getEntryBlock(),
                           ctx.function()->getEntryBlock().begin());
      xSlot = eb.CreateAlloca(x->getType());
    }
    b.CreateStore(x, xSlot, /*isVolatile=*/true);
    RowPlan p = planRow(T);
    emitConstantTiles(nv, 0, p.left, T);
    ctx.emitLoop(ctx.i64(0), ctx.i64(p.interior), 1, [&](llvm::Value *k) {
      emitTile(nv, b.CreateAdd(ctx.i64(p.left), b.CreateMul(k, ctx.i64(T))), T);
    }, "tile");
    emitConstantTiles(nv, p.left + p.interior * T, p.right, T);
  }

  /// A row as `left` columns of border tiles, `interior` run-time tiles of
  /// T columns whose windows stay inside the image, then `right` columns
  /// of border tiles.
  struct RowPlan {
    int64_t left, interior, right;
  };

  /// The border parts are widened with interior columns until each is at
  /// least half a tile (or empty): a 1-column tile has only ocv
  /// accumulators, too few to hide the FMA latency (ResNet's 7- and
  /// 14-wide rows spent ~10% in them).
  RowPlan planRow(int64_t T) const {
    const auto [owLo, owHi] =
        interiorOutputs(g.W, g.OW, g.KW, g.sw, g.pl, g.dw);
    const int64_t minWidth = std::min(ceilDiv(T, 2), g.OW);
    for (int64_t m = (owHi - owLo) / T;; --m) {
      // The border columns left over, split evenly within the borders'
      // minimums (left >= owLo, right >= OW - owHi).
      int64_t rest = g.OW - m * T;
      int64_t l = std::clamp<int64_t>(rest / 2, owLo, rest - (g.OW - owHi));
      int64_t r = rest - l;
      if (m == 0 || ((l == 0 || l >= minWidth) && (r == 0 || r >= minWidth)))
        return {l, m, r};
    }
  }

  /// Columns [c0, c0 + width) as border tiles of at most T columns, of
  /// even widths.
  void emitConstantTiles(int64_t nv, int64_t c0, int64_t width, int64_t T) {
    const int64_t k = ceilDiv(width, T);
    for (int64_t i = 0, c = c0; i < k; ++i) {
      int64_t tw = width / k + (i < width % k ? 1 : 0);
      emitTile(nv, c, tw);
      c += tw;
    }
  }

private:
  llvm::Value *i64(int64_t v) { return ctx.i64(v); }
  llvm::Value *mul(llvm::Value *a, int64_t k) { return b.CreateMul(a, i64(k)); }
  llvm::Value *add(llvm::Value *a, llvm::Value *c) { return b.CreateAdd(a, c); }
  llvm::Value *add(llvm::Value *a, int64_t k) { return b.CreateAdd(a, i64(k)); }

  /// Rows kh whose input row oh*sh - pt + kh*dh lies inside [0, H).
  std::pair<llvm::Value *, llvm::Value *> khRange() {
    llvm::Value *a = b.CreateSub(i64(g.pt), mul(oh, g.sh)); // -(first row)
    llvm::Value *pos = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, a, i64(0));
    llvm::Value *khLo = b.CreateSDiv(add(pos, g.dh - 1), i64(g.dh));
    llvm::Value *last = add(a, g.H - 1); // (H - 1 - first row)
    llvm::Value *khHi = b.CreateSelect(
        b.CreateICmpSLT(last, i64(0)), i64(0),
        b.CreateBinaryIntrinsic(llvm::Intrinsic::smin,
                                add(b.CreateSDiv(last, i64(g.dh)), 1),
                                i64(g.KH)));
    return {khLo, khHi};
  }

  /// `x` reloaded by a volatile load from a stack slot (set by emitRow): a
  /// pointer that optimizations cannot prove equal to another, at one load.
  llvm::Value *opaqueX() {
    return b.CreateLoad(x->getType(), xSlot, /*isVolatile=*/true);
  }

  /// Floats between the weights of lanes bi and bi + 1 of a tap.
  int64_t wLaneStride(int64_t nv) const { return packedW ? nv * g.Bo : g.Bo; }

  llvm::Value *allocaVec() {
    llvm::IRBuilder<> eb(&ctx.function()->getEntryBlock(),
                         ctx.function()->getEntryBlock().begin());
    return eb.CreateAlloca(vt);
  }

  using Accumulators = std::vector<std::vector<llvm::Value *>>;

  /// A border tile at constant column `ow0`: which (column, kw) taps fall
  /// inside the image is known here, so the others are not emitted. The
  /// kw whose taps are all inside (a range) run as one run-time loop: the
  /// border tiles are up to a tile wide, and unrolling every kw doubled
  /// ResNet-18's compile time.
  void emitTile(int64_t nv, int64_t ow0, int64_t Tw) {
    emitTile(nv, ctx.i64(ow0), Tw, [&](Accumulators &acc, llvm::Value *xRow,
                                       llvm::Value *wRow) {
      const int64_t kwStride = g.Bi * wLaneStride(nv);
      auto xTap = [&](int64_t kw) { // input column of the tile's column 0
        return (ow0 * g.sw - g.pl + kw * g.dw) * g.Bi;
      };
      std::vector<std::vector<int64_t>> cols(g.KW);
      int64_t fullLo = g.KW, fullHi = g.KW;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        for (int64_t j = 0; j < Tw; ++j) {
          int64_t iw = (ow0 + j) * g.sw - g.pl + kw * g.dw;
          if (iw >= 0 && iw < g.W)
            cols[kw].push_back(j);
        }
        if (static_cast<int64_t>(cols[kw].size()) == Tw) {
          fullLo = std::min(fullLo, kw);
          fullHi = kw + 1;
        }
      }
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        if (kw == fullLo && fullHi - fullLo > 1) {
          ctx.emitLoop(i64(fullLo), i64(fullHi), 1, [&](llvm::Value *k) {
            emitTaps(nv, cols[fullLo], acc, x,
                     add(add(xRow, i64(xTap(0))), mul(k, g.dw * g.Bi)),
                     add(wRow, mul(k, kwStride)));
          }, "kw");
          kw = fullHi - 1;
          continue;
        }
        // x through an opaque copy per kw: else GVN merges the broadcasts
        // that taps kw and kw+1 share (stride 1) and keeps them live across
        // the unrolled lanes, which spills (layer4's 7x7 convs ran at half
        // speed).
        if (!cols[kw].empty())
          emitTaps(nv, cols[kw], acc, opaqueX(), add(xRow, i64(xTap(kw))),
                   add(wRow, i64(kw * kwStride)));
      }
    });
  }

  /// An interior tile at run-time column `ow0`: every tap is inside.
  void emitTile(int64_t nv, llvm::Value *ow0, int64_t Tw) {
    std::vector<int64_t> cols(Tw);
    for (int64_t j = 0; j < Tw; ++j)
      cols[j] = j;
    emitTile(nv, ow0, Tw, [&](Accumulators &acc, llvm::Value *xRow,
                              llvm::Value *wRow) {
      llvm::Value *x0 = add(xRow, mul(b.CreateSub(mul(ow0, g.sw), i64(g.pl)), g.Bi));
      ctx.emitLoop(i64(0), i64(g.KW), 1, [&](llvm::Value *kw) {
        emitTaps(nv, cols, acc, x, add(x0, mul(kw, g.dw * g.Bi)),
                 add(wRow, mul(kw, g.Bi * wLaneStride(nv))));
      }, "kw");
    });
  }

  /// Tw columns from ow0; `row` emits the taps of one (kh, icb) given the
  /// input row (element of column 0) and w[ocb0, icb, kh, 0, 0, 0].
  void emitTile(int64_t nv, llvm::Value *ow0, int64_t Tw,
                const std::function<void(Accumulators &, llvm::Value *,
                                         llvm::Value *)> &row) {
    auto outIndex = [&](int64_t v, int64_t j) {
      return mul(
          add(mul(add(mul(add(mul(n, g.OCb), add(ocb0, v)), g.OH), oh), g.OW),
              add(ow0, i64(j))),
          g.Bo);
    };
    Accumulators acc(nv);
    for (int64_t v = 0; v < nv; ++v) {
      llvm::Value *init = llvm::Constant::getNullValue(vt);
      if (bias)
        init = ctx.load(vt, f32, bias, mul(add(ocb0, v), g.Bo));
      for (int64_t j = 0; j < Tw; ++j) {
        acc[v].push_back(allocaVec());
        llvm::Value *a = init;
        if (isFirst)
          a = b.CreateSelect(isFirst, init,
                             ctx.load(vt, f32, out, outIndex(v, j)));
        b.CreateStore(a, acc[v][j]);
      }
    }
    auto [khLo, khHi] = khRange();
    ctx.emitLoop(khLo, khHi, 1, [&](llvm::Value *kh) {
      llvm::Value *ih = add(b.CreateSub(mul(oh, g.sh), i64(g.pt)), mul(kh, g.dh));
      ctx.emitLoop(icbBegin, icbEnd, 1, [&](llvm::Value *icb) {
        llvm::Value *xRow =
            mul(add(mul(add(mul(n, g.ICb), icb), g.H), ih), g.W * g.Bi);
        llvm::Value *wRow =
            add(mul(ocb0, g.ICb * g.KH * g.KW * g.Bi * g.Bo),
                mul(add(mul(icb, g.KH), kh), g.KW * g.Bi * wLaneStride(nv)));
        row(acc, xRow, wRow);
      }, "icb");
    }, "kh");
    for (int64_t v = 0; v < nv; ++v)
      for (int64_t j = 0; j < Tw; ++j) {
        llvm::Value *o = b.CreateLoad(vt, acc[v][j]);
        llvm::Value *idx = outIndex(v, j);
        llvm::Value *done = o;
        if (res)
          done = b.CreateFAdd(done, ctx.load(vt, f32, res, idx));
        done = activation.apply(b, done);
        ctx.store(isLast ? b.CreateSelect(isLast, done, o) : done, f32, out,
                  idx);
      }
  }

  /// The FMAs of one (kh, icb, kw) for columns `cols` of the tile and every
  /// lane of the input block; x0 is the input element of column 0, lane 0.
  void emitTaps(int64_t nv, const std::vector<int64_t> &cols, Accumulators &acc,
                llvm::Value *xPtr, llvm::Value *x0, llvm::Value *wTap) {
    const int64_t vStride =
        packedW ? g.Bo : g.ICb * g.KH * g.KW * g.Bi * g.Bo;
    auto lane = [&](llvm::Value *bi) {
      std::vector<llvm::Value *> wv(nv);
      for (int64_t v = 0; v < nv; ++v)
        wv[v] = ctx.load(vt, f32, w,
                         add(add(wTap, mul(bi, wLaneStride(nv))),
                             i64(v * vStride)));
      for (int64_t j : cols) {
        llvm::Value *s =
            ctx.load(f32, f32, xPtr, add(add(x0, bi), i64(j * g.sw * g.Bi)));
        llvm::Value *bv = b.CreateVectorSplat(static_cast<unsigned>(g.Bo), s);
        for (int64_t v = 0; v < nv; ++v) {
          llvm::Value *a = b.CreateLoad(vt, acc[v][j]);
          b.CreateStore(b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vt},
                                          {bv, wv[v], a}),
                        acc[v][j]);
        }
      }
    };
    const int64_t unroll = g.Bi % kUnrolledLanes == 0 ? kUnrolledLanes : 1;
    if (g.Bi <= kUnrolledLanes) {
      for (int64_t bi = 0; bi < g.Bi; ++bi)
        lane(i64(bi));
    } else {
      ctx.emitLoop(i64(0), i64(g.Bi / unroll), 1, [&](llvm::Value *q) {
        for (int64_t u = 0; u < unroll; ++u)
          lane(add(mul(q, unroll), u));
      }, "bi");
    }
  }

  LoweringContext &ctx;
  llvm::IRBuilder<> &b;
  const Geometry &g;
  BlockedActivation activation;
  llvm::Type *f32 = nullptr, *vt = nullptr;
};

/// A constant w[OCb, ICb, KH, KW, Bi, Bo] reordered so that the weights of
/// one group of `ocv` output blocks (the last group: the rest) are
/// contiguous and interleaved by tap: w'[group][icb, kh, kw, bi, v, Bo].
/// A tile's ocv weight vectors of a tap are then adjacent, and a pass's
/// weights one contiguous run: with w as stored, the ocv streams lie
/// ICb*KH*KW*Bi*Bo floats apart (a multiple of 4 KB in ResNet, so they
/// compete for the same L1 sets) and are read sparsely from memory.
void packWeights(LoweringContext &ctx, const Geometry &g, int64_t ocv) {
  const float *src = static_cast<const float *>(ctx.constantOperand(1)->data());
  const int64_t lane = g.Bo, tap = g.Bi * lane,
                perOcb = g.ICb * g.KH * g.KW * tap;
  auto packed = std::make_shared<PackedConstant>(g.OCb * perOcb);
  float *dst = packed->data();
  for (int64_t ocb0 = 0; ocb0 < g.OCb; ocb0 += ocv) {
    const int64_t nv = std::min(ocv, g.OCb - ocb0);
    for (int64_t t = 0; t < g.ICb * g.KH * g.KW; ++t) // (icb, kh, kw)
      for (int64_t bi = 0; bi < g.Bi; ++bi)
        for (int64_t v = 0; v < nv; ++v, dst += lane)
          std::copy_n(src + (ocb0 + v) * perOcb + t * tap + bi * lane, lane,
                      dst);
  }
  ctx.replaceOperand(1, std::move(packed));
}

} // namespace

absl::Status lowerConv2dBlocked(const Op &op, LoweringContext &ctx) {
  const TensorType &xt = op.operand(0)->type, &wt = op.operand(1)->type;
  const TensorType &rt = op.result()->type;
  if (xt.dtype != DType::F32)
    return absl::UnimplementedError("conv2d_blocked is lowered for f32 only");
  std::vector<int64_t> st = op.attrs.getInts("strides", {1, 1}),
                       pads = op.attrs.getInts("pads", {0, 0, 0, 0}),
                       dil = op.attrs.getInts("dilations", {1, 1});
  Geometry g{xt.shape[0], xt.shape[1], xt.shape[2], xt.shape[3], wt.shape[4],
             wt.shape[0], wt.shape[2], wt.shape[3], wt.shape[5], rt.shape[2],
             rt.shape[3], st[0], st[1], pads[0], pads[1], dil[0], dil[1]};
  const int VW = ctx.vectorWidth();
  Tiling tiling = chooseTiling(g, ctx.target(), VW);
  const int64_t groups = ceilDiv(g.OCb, tiling.ocv);
  const int64_t tail = g.OCb % tiling.ocv;

  // Captured pointers: x, w, out, then bias and residual when present.
  std::vector<llvm::Value *> values = {ctx.operandPtr(0), ctx.operandPtr(1),
                                       ctx.resultPtr(0)};
  const bool hasBias = op.operand(2) != nullptr, hasRes = op.operand(3) != nullptr;
  if (hasBias)
    values.push_back(ctx.operandPtr(2));
  if (hasRes)
    values.push_back(ctx.operandPtr(3));
  // Input blocks per pass over the task's rows: one pass's weights (ocv
  // output blocks) fit the L1 while every row of the task reuses them;
  // partial sums wait in `out` between passes. (Measured on ResNet-18's 3x3
  // convs: 10-25% faster than passes sized by half the L2.)
  const int64_t bytesPerIcb = tiling.ocv * g.KH * g.KW * g.Bi * g.Bo * 4;
  const int64_t icc = std::clamp<int64_t>(
      ctx.target().l1dCacheBytes / std::max<int64_t>(bytesPerIcb, 1), 1,
      g.ICb);
  const int64_t passes = ceilDiv(g.ICb, icc);
  Emitter e(ctx, op, g);
  e.packedW = prepackable(ctx, 1, g.OCb * g.ICb * g.KH * g.KW * g.Bi * g.Bo);
  if (e.packedW)
    packWeights(ctx, g, tiling.ocv);
  // Rows are ordered (group, n, oh): a task's rows of one group share its
  // weights, which then come from memory once per task even at batch > 1.
  const int64_t groupRows = g.N * g.OH;
  ctx.emitParallelFor(groups * groupRows, 1, values, [&](llvm::Value *first,
                                                         llvm::Value *last) {
    llvm::IRBuilder<> &b = ctx.b();
    e.x = values[0];
    e.w = values[1];
    e.out = values[2];
    e.bias = hasBias ? values[3] : nullptr;
    e.res = hasRes ? values[hasBias ? 4 : 3] : nullptr;
    // The task's rows group by group, each group's with the passes outside.
    llvm::Value *gFirst = b.CreateSDiv(first, ctx.i64(groupRows));
    llvm::Value *gLast =
        b.CreateAdd(b.CreateSDiv(b.CreateSub(last, ctx.i64(1)),
                                 ctx.i64(groupRows)),
                    ctx.i64(1));
    ctx.emitLoop(gFirst, gLast, 1, [&](llvm::Value *grp) {
      llvm::Value *g0 = b.CreateMul(grp, ctx.i64(groupRows));
      llvm::Value *rBegin =
          b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, first, g0);
      llvm::Value *rEnd = b.CreateBinaryIntrinsic(
          llvm::Intrinsic::smin, last, b.CreateAdd(g0, ctx.i64(groupRows)));
      e.ocb0 = b.CreateMul(grp, ctx.i64(tiling.ocv));
      ctx.emitLoop(0, passes, 1, [&](llvm::Value *pass) {
        e.icbBegin = b.CreateMul(pass, ctx.i64(icc));
        e.icbEnd = b.CreateBinaryIntrinsic(
            llvm::Intrinsic::smin, b.CreateAdd(e.icbBegin, ctx.i64(icc)),
            ctx.i64(g.ICb));
        if (passes > 1) {
          e.isFirst = b.CreateICmpEQ(pass, ctx.i64(0));
          e.isLast = b.CreateICmpEQ(pass, ctx.i64(passes - 1));
        }
        ctx.emitLoop(rBegin, rEnd, 1, [&](llvm::Value *r) {
          llvm::Value *nr = b.CreateSub(r, g0); // n * OH + oh
          e.oh = b.CreateSRem(nr, ctx.i64(g.OH));
          e.n = b.CreateSDiv(nr, ctx.i64(g.OH));
          if (tail == 0) {
            e.emitRow(tiling.ocv, tiling.T);
            return;
          }
          // The last group has only `tail` blocks.
          llvm::Function *f = ctx.function();
          auto *full = llvm::BasicBlock::Create(ctx.llvm(), "full", f);
          auto *part = llvm::BasicBlock::Create(ctx.llvm(), "tail", f);
          auto *done = llvm::BasicBlock::Create(ctx.llvm(), "row.done", f);
          b.CreateCondBr(b.CreateICmpSLT(grp, ctx.i64(groups - 1)), full, part);
          b.SetInsertPoint(full);
          e.emitRow(tiling.ocv, tiling.T);
          b.CreateBr(done);
          b.SetInsertPoint(part);
          e.emitRow(tail, std::min<int64_t>(tiling.T * tiling.ocv / tail,
                                            std::min(kMaxTileColumns, g.OW)));
          b.CreateBr(done);
          b.SetInsertPoint(done);
        }, "row");
      }, "pass");
    }, "group");
  });
  ctx.finish();
  return absl::OkStatus();
}

} // namespace tcpu
