//===- BlockedDepthwise.cpp - Depthwise conv on blocked NCHWc activations -===//
//
// depthwise_conv2d_blocked: output channel c is the conv of input channel c
// alone, so in the blocked layout one tap of an output pixel is one vector
// FMA: the input pixel's B channels (one load, whatever the stride: no
// shuffles) times the tap's B filter weights. One parallel index is one
// output row (n, cb, oh); the row's KH*KW weight vectors (up to 4x4
// windows; larger ones load each weight in each tile) and its bias are
// loaded once, and the row is covered by tiles of T output columns (T
// vector accumulators).
//  - Rows: interior rows (every kh inside the image) emit all taps; the few
//    border rows emit each kh behind a run-time check of its input row.
//  - Columns: as conv2d_blocked (BlockedConv.cpp), tiles whose windows stay
//    inside the image run in a run-time loop without checks; the border
//    tiles sit at constant columns and emit only their taps inside.
//  - Bias (the accumulators' start), residual and activation are applied
//    on the accumulators before the one store.
// Padding lanes (channels past C) have zero weights and bias, so they stay
// 0 unless the activation's clip range excludes 0 (as the reference).
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"
#include "codegen/lower/BlockedActivation.h"
#include "ir/IntMath.h"

#include <algorithm>
#include <optional>

namespace tcpu {

namespace {

struct Geometry {
  int64_t N, Cb, H, W, B, KH, KW, OH, OW;
  int64_t sh, sw, pt, pl, dh, dw;
};

/// Columns per tile at most: each weight is reused T times; beyond 8 the
/// accumulators and inputs no longer fit beside the weights.
constexpr int64_t kMaxTileColumns = 8;
/// Windows of more taps are not lowered (their taps are unrolled).
constexpr int64_t kMaxTaps = 256;
/// Windows of at most this many taps keep their weights in registers for
/// a whole row; larger ones load each weight where a tile uses it.
constexpr int64_t kMaxRegisterWeights = 16;

/// T columns: T accumulators and about T inputs beside the weights kept
/// in registers.
int64_t chooseColumns(const Geometry &g, const TargetDescription &target,
                      int VW) {
  int64_t regs = target.vectorRegisters > 0 ? target.vectorRegisters : 16;
  int64_t avail = regs / ceilDiv(g.B, VW);
  int64_t taps = g.KH * g.KW;
  int64_t T = (avail - (taps <= kMaxRegisterWeights ? taps : 1) - g.KW) / 2;
  return std::min(std::clamp<int64_t>(T, 4, kMaxTileColumns), g.OW);
}

class Emitter {
public:
  Emitter(LoweringContext &ctx, const Op &op, const Geometry &g, int64_t T)
      : ctx(ctx), b(ctx.b()), g(g), T(T),
        activation(op) {
    f32 = b.getFloatTy();
    vt = ctx.vectorOf(f32, static_cast<int>(g.B));
  }

  /// Pointers of the current function (the parallel body's copies).
  llvm::Value *x = nullptr, *w = nullptr, *bias = nullptr, *res = nullptr,
              *out = nullptr;

  /// Output row r = (n * Cb + cb) * OH + oh.
  void emitRow(llvm::Value *r) {
    oh = b.CreateSRem(r, i64(g.OH));
    llvm::Value *plane = b.CreateSDiv(r, i64(g.OH)); // n * Cb + cb
    llvm::Value *cb = b.CreateSRem(plane, i64(g.Cb));
    xPlane = mul(plane, g.H * g.W * g.B);
    outRow = mul(r, g.OW * g.B);
    wRow = mul(cb, g.KH * g.KW * g.B);
    wv.assign(g.KH * g.KW, nullptr);
    if (g.KH * g.KW <= kMaxRegisterWeights)
      for (int64_t t = 0; t < g.KH * g.KW; ++t)
        wv[t] = weight(t);
    init = bias ? ctx.load(vt, f32, bias, mul(cb, g.B))
                : llvm::Constant::getNullValue(vt);
    ih0 = b.CreateSub(mul(oh, g.sh), i64(g.pt));
    // Rows [ohLo, ohHi) read every kh inside the image.
    const auto [ohLo, ohHi] =
        interiorOutputs(g.H, g.OH, g.KH, g.sh, g.pt, g.dh);
    if (ohLo == 0 && ohHi == g.OH) {
      emitColumns(false);
      return;
    }
    llvm::Function *f = ctx.function();
    auto *inner = llvm::BasicBlock::Create(ctx.llvm(), "row.inner", f);
    auto *border = llvm::BasicBlock::Create(ctx.llvm(), "row.border", f);
    auto *done = llvm::BasicBlock::Create(ctx.llvm(), "row.done", f);
    b.CreateCondBr(b.CreateAnd(b.CreateICmpSGE(oh, i64(ohLo)),
                               b.CreateICmpSLT(oh, i64(ohHi))),
                   inner, border);
    b.SetInsertPoint(inner);
    emitColumns(false);
    b.CreateBr(done);
    b.SetInsertPoint(border);
    emitColumns(true);
    b.CreateBr(done);
    b.SetInsertPoint(done);
  }

private:
  llvm::Value *i64(int64_t v) { return ctx.i64(v); }
  /// The B weights of tap t of the row's channel block.
  llvm::Value *weight(int64_t t) {
    return ctx.load(vt, f32, w, add(wRow, i64(t * g.B)));
  }
  llvm::Value *mul(llvm::Value *a, int64_t k) { return b.CreateMul(a, i64(k)); }
  llvm::Value *add(llvm::Value *a, llvm::Value *c) { return b.CreateAdd(a, c); }

  /// The tiles of one row; `checkRows`: each kh only if its row is inside.
  void emitColumns(bool checkRows) {
    const auto [owLo, owHi] =
        interiorOutputs(g.W, g.OW, g.KW, g.sw, g.pl, g.dw);
    int64_t full = (owHi - owLo) / T;
    for (int64_t c = 0; c < owLo; c += T)
      emitTile(i64(c), c, std::min(T, owLo - c), checkRows);
    ctx.emitLoop(i64(0), i64(full), 1, [&](llvm::Value *k) {
      emitTile(add(i64(owLo), mul(k, T)), std::nullopt, T, checkRows);
    }, "tile");
    for (int64_t c = owLo + full * T; c < g.OW; c += T)
      emitTile(i64(c), c, std::min(T, g.OW - c), checkRows);
  }

  /// Tw columns from ow0; `constOw0` when ow0 is known here (a border
  /// tile: only its taps inside the image are emitted).
  void emitTile(llvm::Value *ow0, std::optional<int64_t> constOw0, int64_t Tw,
                bool checkRows) {
    std::vector<llvm::Value *> acc(Tw, init);
    // Element offset of input column ow0 * sw - pl, lane 0, in the row.
    llvm::Value *col0 = mul(b.CreateSub(mul(ow0, g.sw), i64(g.pl)), g.B);
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      llvm::Value *ih = b.CreateAdd(ih0, i64(kh * g.dh));
      auto taps = [&] {
        llvm::Value *x0 = add(add(xPlane, mul(ih, g.W * g.B)), col0);
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          llvm::Value *wt = wv[kh * g.KW + kw];
          if (!wt)
            wt = weight(kh * g.KW + kw);
          for (int64_t j = 0; j < Tw; ++j) {
            int64_t dx = j * g.sw + kw * g.dw; // input columns from ow0*sw-pl
            if (constOw0) {
              int64_t iw = *constOw0 * g.sw - g.pl + dx;
              if (iw < 0 || iw >= g.W)
                continue;
            }
            llvm::Value *xv = ctx.load(vt, f32, x, add(x0, i64(dx * g.B)));
            acc[j] = b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vt},
                                       {xv, wt, acc[j]});
          }
        }
      };
      if (!checkRows) {
        taps();
        continue;
      }
      // if (0 <= ih < H) acc = taps(acc); with phis at the join.
      llvm::Function *f = ctx.function();
      auto *then = llvm::BasicBlock::Create(ctx.llvm(), "kh.in", f);
      auto *join = llvm::BasicBlock::Create(ctx.llvm(), "kh.join", f);
      llvm::BasicBlock *from = b.GetInsertBlock();
      b.CreateCondBr(b.CreateICmpULT(ih, i64(g.H)), then, join);
      b.SetInsertPoint(then);
      std::vector<llvm::Value *> before = acc;
      taps();
      llvm::BasicBlock *thenEnd = b.GetInsertBlock();
      b.CreateBr(join);
      b.SetInsertPoint(join);
      for (int64_t j = 0; j < Tw; ++j) {
        llvm::PHINode *phi = b.CreatePHI(vt, 2);
        phi->addIncoming(before[j], from);
        phi->addIncoming(acc[j], thenEnd);
        acc[j] = phi;
      }
    }
    for (int64_t j = 0; j < Tw; ++j) {
      llvm::Value *idx = add(outRow, mul(add(ow0, i64(j)), g.B));
      llvm::Value *v = acc[j];
      if (res)
        v = b.CreateFAdd(v, ctx.load(vt, f32, res, idx));
      ctx.store(activation.apply(b, v), f32, out, idx);
    }
  }

  LoweringContext &ctx;
  llvm::IRBuilder<> &b;
  const Geometry &g;
  int64_t T;
  BlockedActivation activation;
  llvm::Type *f32 = nullptr, *vt = nullptr;
  /// Of the current row: its output row index, the offsets of its input
  /// plane and output row, the first input row, the weights and the bias.
  llvm::Value *oh = nullptr, *xPlane = nullptr, *outRow = nullptr,
              *ih0 = nullptr, *init = nullptr, *wRow = nullptr;
  /// Per tap, its weights when kept in registers for the row, else null.
  std::vector<llvm::Value *> wv;
};

} // namespace

absl::Status lowerDepthwiseConv2dBlocked(const Op &op, LoweringContext &ctx) {
  const TensorType &xt = op.operand(0)->type, &wt = op.operand(1)->type;
  const TensorType &rt = op.result()->type;
  if (xt.dtype != DType::F32)
    return absl::UnimplementedError(
        "depthwise_conv2d_blocked is lowered for f32 only");
  if (wt.shape[1] * wt.shape[2] > kMaxTaps)
    return absl::UnimplementedError(
        "depthwise_conv2d_blocked windows of more than " +
        std::to_string(kMaxTaps) + " taps are not lowered");
  std::vector<int64_t> st = op.attrs.getInts("strides", {1, 1}),
                       pads = op.attrs.getInts("pads", {0, 0, 0, 0}),
                       dil = op.attrs.getInts("dilations", {1, 1});
  Geometry g{xt.shape[0], xt.shape[1], xt.shape[2], xt.shape[3], xt.shape[4],
             wt.shape[1], wt.shape[2], rt.shape[2], rt.shape[3], st[0],
             st[1],       pads[0],     pads[1],     dil[0],      dil[1]};
  Emitter e(ctx, op, g, chooseColumns(g, ctx.target(), ctx.vectorWidth()));
  // Captured pointers: x, w, out, then bias and residual when present.
  std::vector<llvm::Value *> values = {ctx.operandPtr(0), ctx.operandPtr(1),
                                       ctx.resultPtr(0)};
  const bool hasBias = op.operand(2) != nullptr,
             hasRes = op.operand(3) != nullptr;
  if (hasBias)
    values.push_back(ctx.operandPtr(2));
  if (hasRes)
    values.push_back(ctx.operandPtr(3));
  // Enough output rows per task to outweigh the task's overhead.
  const int64_t grain =
      std::max<int64_t>(1, 8192 / (g.OW * g.B * g.KH * g.KW));
  ctx.emitParallelFor(g.N * g.Cb * g.OH, grain, values,
                      [&](llvm::Value *first, llvm::Value *last) {
    e.x = values[0];
    e.w = values[1];
    e.out = values[2];
    e.bias = hasBias ? values[3] : nullptr;
    e.res = hasRes ? values[hasBias ? 4 : 3] : nullptr;
    ctx.emitLoop(first, last, 1, [&](llvm::Value *r) { e.emitRow(r); }, "row");
  });
  ctx.finish();
  return absl::OkStatus();
}

} // namespace tcpu
