//===- Recurrent.cpp - Lowering of lstm, gru and rnn ----------------------===//
//
// The recurrent ops (f32; semantics in ir/ops/Recurrent.cpp) in two parts:
//
// 1. The input projection of every time step and direction as ONE GEMM,
//      XW[T*B, D*G*H] = X[T*B, I] x W[D*G*H, I]^T + bias,
//    whose per-column bias (Wb + Rb, summed once per run) rides in the
//    epilogue. Rows follow x's own order ((t, b) for layout 0, (b, t) for
//    layout 1), so the rows of one time step are XW + t*B*N (stride N) or
//    XW + t*N (stride T*N).
// 2. Per direction and time step, the recurrent GEMM H[B, H] x R^T[H, G*H]
//    accumulated in place into that step's XW rows (beta = 1), then one loop
//    over [B, H] doing all of the gate math of the cell on <W x float>
//    vectors (scalar remainder): sigmoid and tanh from the f32 exp of
//    lower/VectorMath.h, clip, peepholes, input_forget. With more than one
//    step, R is transposed once per direction, so that the step GEMM reads
//    R^T in place (small batches) or packs it with vector copies; a single
//    step takes R with transB. The state h (and c) lives in a dense [B, H]
//    buffer, so every step GEMM has one shape; each step's h is also stored
//    into y, the last one into y_h (and c into y_c).
//
// Constant W and R (f32) are packed into their GEMM's B panels at compile
// time (lower/Prepack.h): the projection then never packs W, and the steps
// read R's panels instead of transposing it once per direction and packing
// it every step (not for GRU without linear_before_reset, whose two step
// GEMMs split R).
//
// LSTM with constant W and R whose H fits one K block of the step GEMM
// (planBlocked) runs a hidden-blocked step instead: the G*H gate columns of
// each direction are permuted at compile time into blocks of HB hidden
// units ([i | o | f | c] of those units, the last block narrower; 4*HB a
// multiple of the GEMM's NR and HB of the vector width), in W, R (both
// packed so permuted) and the bias. Each step is then ONE parallel region
// with one task per block: a single-threaded GEMM of the block's 4*hb
// columns accumulated into XW (R's panels and h both prepacked, so no
// packing memory), then the gate math of the block's units, instead of the
// step GEMM's region and the gate loop's. h lives in the GEMM's packed A
// layout, double-buffered (a step reads h_{t-1} while its tasks write h_t;
// stored MR floats apart with a scatter), next to the dense h for y_h.
// (Folding the projection into the steps too, K = I + H, was slower on one
// thread: its B micro-panels no longer fit L1.)
//
// GRU needs the reset gate before its third recurrent product:
// - linear_before_reset = 0: GEMM of the z and r columns, gate math 1 (z, and
//   r*h into a buffer), GEMM (r*h) x R_h^T into the h columns, gate math 2;
// - linear_before_reset = 1: one GEMM H x R^T + Rb into a separate [B, 3H]
//   buffer (r multiplies R_h h + Rb_h, so Rb cannot join XW's bias).
//
// Scratch memory (XW, R^T, bias, states, the GEMMs' packing memory) is one
// tcpu_thread_scratch block; the GEMMs get their part explicitly, so that
// they never ask tcpu_thread_scratch themselves (which would hand back the
// same block). GEMM functions of one shape are shared within the module.
//
// Every attribute combination of the IR is lowered; f16/bf16 and an empty
// input size stay on the interpreter.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "codegen/Lowering.h"
#include "codegen/PackedConstant.h"
#include "codegen/lower/Prepack.h"
#include "codegen/lower/RowSupport.h"
#include "codegen/lower/VectorMath.h"
#include "ir/IntMath.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Function.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace tcpu {

namespace {

using Builder = llvm::IRBuilder<>;
using vmath::fconst;
using vmath::fmuladd;
using vmath::sigmoidF32;
using vmath::tanhF32;

enum class Cell { Lstm, Gru, Rnn };

int64_t roundUp16(int64_t floats) { return roundUp(floats, 16); }

/// A GEMM function for `shape` with an optional per-column bias, shared by
/// every recurrent op of the module with the same call (its scratch need
/// rides on an attribute, as in lower/Conv.cpp).
struct SharedGemm {
  llvm::Function *function = nullptr;
  int64_t scratchPerThread = 0;
  GemmBlocking blocking;
};

/// `prepackedB`: B comes packed at compile time (a constant W or R).
absl::StatusOr<SharedGemm> sharedGemm(LoweringContext &ctx, const GemmShape &s,
                                      bool bias, bool prepackedB = false) {
  std::string name = "tcpu_rnn_gemm_" + std::to_string(s.M) + "x" +
                     std::to_string(s.N) + "x" + std::to_string(s.K) + "_" +
                     (s.transB ? "t" : "n") + "_lda" + std::to_string(s.lda) +
                     "_ldb" + std::to_string(s.ldb) + "_ldc" +
                     std::to_string(s.ldc) + (s.beta != 0.0f ? "_acc" : "") +
                     (bias ? "_bias" : "") + (prepackedB ? "_pb" : "");
  if (llvm::Function *f = ctx.module().getFunction(name)) {
    // The blocking emitGemmFunction chose for the same shape.
    GemmBlocking bl = chooseGemmBlocking(ctx.target(), s, prepackedB);
    bl.packB = bl.packB || prepackedB;
    return SharedGemm{f,
                      std::stoll(f->getFnAttribute("tcpu-scratch-bytes")
                                     .getValueAsString()
                                     .str()),
                      bl};
  }
  GemmEpilogue e;
  if (bias)
    e.bias = GemmEpilogue::Bias::PerColumn;
  GemmOptions o;
  o.prepackedB = prepackedB;
  absl::StatusOr<GemmKernel> k =
      emitGemmFunction(ctx.module(), ctx.target(), s, e, name, o);
  if (!k.ok())
    return k.status();
  k->function->addFnAttr("tcpu-scratch-bytes",
                         std::to_string(k->scratchBytesPerThread));
  return SharedGemm{k->function, k->scratchBytesPerThread, k->blocking};
}

class RecurrentLowering {
public:
  RecurrentLowering(const Op &op, LoweringContext &ctx, Cell cell)
      : op_(op), ctx_(ctx), b_(ctx.b()), cell_(cell) {}

  absl::Status run();

private:
  // --- Small IR helpers -----------------------------------------------===//
  llvm::Value *i64(int64_t v) { return ctx_.i64(v); }
  llvm::Value *add(llvm::Value *a, llvm::Value *c) {
    return b_.CreateAdd(a, c);
  }
  llvm::Value *mul(llvm::Value *a, int64_t c) {
    return b_.CreateMul(a, i64(c));
  }
  /// &base[index] in floats.
  llvm::Value *at(llvm::Value *base, llvm::Value *index) {
    return b_.CreateInBoundsGEP(b_.getFloatTy(), base, index);
  }
  llvm::Value *at(llvm::Value *base, int64_t index) {
    return at(base, i64(index));
  }
  llvm::Value *load(int lanes, llvm::Value *base, llvm::Value *index) {
    return ctx_.load(ctx_.vectorOf(b_.getFloatTy(), lanes), b_.getFloatTy(),
                     base, index);
  }
  void store(llvm::Value *v, llvm::Value *base, llvm::Value *index) {
    ctx_.store(v, b_.getFloatTy(), base, index);
  }
  llvm::Value *splat(int lanes, double v) {
    return llvm::ConstantFP::get(ctx_.vectorOf(b_.getFloatTy(), lanes), v);
  }
  /// The reference's clamp to [-clip, clip] (NaN stays NaN).
  llvm::Value *clip(llvm::Value *v) {
    if (!hasClip_)
      return v;
    llvm::Value *lo = fconst(v, -clip_), *hi = fconst(v, clip_);
    v = b_.CreateSelect(b_.CreateFCmpOLT(v, lo), lo, v);
    return b_.CreateSelect(b_.CreateFCmpOGT(v, hi), hi, v);
  }
  llvm::Value *gate(llvm::Value *v) { return sigmoidF32(b_, clip(v)); }
  llvm::Value *act(llvm::Value *v) { return tanhF32(b_, clip(v)); }
  void copyRows(llvm::Value *dst, int64_t dstStride, llvm::Value *src,
                llvm::Value *srcBase, int64_t srcStride);

  // --- Parts of the kernel --------------------------------------------===//
  void emitBias(llvm::Value *bias);
  void emitTransposeR(llvm::Value *dir, llvm::Value *rt);
  void emitStep(llvm::Value *dir, llvm::Value *t);
  void emitLstmGates(llvm::Value *dir, llvm::Value *t, llvm::Value *xwStep);
  void emitRnnGates(llvm::Value *dir, llvm::Value *t, llvm::Value *xwStep);
  void emitGruGates(llvm::Value *dir, llvm::Value *t, llvm::Value *xwStep,
                    int phase);
  /// Element of y holding h of (t, dir, batch entry bi).
  llvm::Value *yIndex(llvm::Value *t, llvm::Value *dir, llvm::Value *bi);
  void callGemm(const SharedGemm &g, llvm::Value *A, llvm::Value *B,
                llvm::Value *C, llvm::Value *bias);

  const Op &op_;
  LoweringContext &ctx_;
  Builder &b_;
  Cell cell_;
  int64_t T_ = 0, B_ = 0, I_ = 0, H_ = 0, D_ = 1, G_ = 1, N_ = 0;
  bool layout1_ = false, hasClip_ = false, inputForget_ = false, lbr_ = false;
  double clip_ = 0;
  std::string direction_, activation_;
  // Operand and result pointers (null when absent).
  llvm::Value *x_ = nullptr, *w_ = nullptr, *r_ = nullptr, *bOp_ = nullptr,
              *h0_ = nullptr, *c0_ = nullptr, *p_ = nullptr, *y_ = nullptr,
              *yh_ = nullptr, *yc_ = nullptr;
  // Scratch buffers.
  llvm::Value *xw_ = nullptr, *rt_ = nullptr, *bias_ = nullptr, *h_ = nullptr,
              *c_ = nullptr, *tmp_ = nullptr, *gemmScratch_ = nullptr;
  // Step GEMMs: stepA covers the gates computed from h (all of them, or GRU's
  // z and r, or GRU lbr's three into tmp); stepB is GRU's (r*h) x R_h^T.
  SharedGemm stepA_, stepB_;

  // --- The hidden-blocked LSTM step (planBlocked; see the file comment) ===//
  bool blocked_ = false;
  int64_t hb_ = 0, nb_ = 0, hbLast_ = 0;
  GemmBlocking blk_;
  llvm::Function *blockGemm_ = nullptr, *lastBlockGemm_ = nullptr;
  llvm::Value *hPack_[2] = {nullptr, nullptr};
  /// Whether the op takes the hidden-blocked step; if so, its blocks and
  /// the step GEMM's blocking.
  bool planBlocked();
  /// Source gate column (g*H + j) of permuted column n of a direction.
  int64_t blockedSource(int64_t n) const;
  int64_t packBlocked(int operand, const GemmShape &shape,
                      const GemmBlocking &bl, int64_t count);
  void emitBlockedBias(llvm::Value *bias);
  void emitBlockedInit(llvm::Value *stateBase, int64_t stateStride);
  void emitBlockedStep(llvm::Value *dir, llvm::Value *t, llvm::Value *s);
  /// Index in the packed-A h of element (bi, k).
  llvm::Value *packedIndex(llvm::Value *bi, llvm::Value *k);
  /// The LSTM cell on one vector: pre-activations gi, go, gf, gc, state c,
  /// peepholes at p + pj (p null: none). Returns {c_t, h_t}.
  std::pair<llvm::Value *, llvm::Value *>
  lstmCell(int lanes, llvm::Value *gi, llvm::Value *go, llvm::Value *gf,
           llvm::Value *gc, llvm::Value *c, llvm::Value *p, llvm::Value *pj);
  // The step GEMMs read R^T in place from rt_ (transposed once per
  // direction), or R itself with transB (the GEMM then packs it each step).
  bool transposeR_ = false;
  /// > 0 when R is a constant packed at compile time for stepA_ (not for
  /// GRU without linear_before_reset, whose two step GEMMs split R): the
  /// floats between two directions' panels.
  int64_t packedRStride_ = 0;
  /// The step GEMMs' B operand from gate row `row` on: the direction's R
  /// (transB), its transpose, or its packed panels.
  llvm::Value *stepB(llvm::Value *dir, int64_t row) {
    if (packedRStride_ > 0)
      return at(r_, mul(dir, packedRStride_));
    if (transposeR_)
      return at(rt_, row);
    return at(r_, add(mul(dir, G_ * H_ * H_), i64(row * H_)));
  }
};

void RecurrentLowering::copyRows(llvm::Value *dst, int64_t dstStride,
                                 llvm::Value *src, llvm::Value *srcBase,
                                 int64_t srcStride) {
  ctx_.emitLoop(0, B_, 1, [&](llvm::Value *bi) {
    llvm::Value *d = at(dst, mul(bi, dstStride));
    llvm::Value *s = at(src, add(srcBase, mul(bi, srcStride)));
    b_.CreateMemCpy(d, llvm::MaybeAlign(4), s, llvm::MaybeAlign(4), H_ * 4);
  }, "row");
}

llvm::Value *RecurrentLowering::yIndex(llvm::Value *t, llvm::Value *dir,
                                       llvm::Value *bi) {
  llvm::Value *row =
      layout1_ ? add(mul(add(mul(bi, T_), t), D_), dir)
               : add(mul(add(mul(t, D_), dir), B_), bi);
  return mul(row, H_);
}

void RecurrentLowering::callGemm(const SharedGemm &g, llvm::Value *A,
                                 llvm::Value *B, llvm::Value *C,
                                 llvm::Value *bias) {
  llvm::Value *null = llvm::ConstantPointerNull::get(b_.getPtrTy());
  b_.CreateCall(g.function,
                {A, B, C, bias ? bias : null, null, gemmScratch_});
}

/// bias[dir*GH + j] = Wb + Rb (Wb alone for GRU with linear_before_reset,
/// whose Rb is the bias of its step GEMM).
void RecurrentLowering::emitBias(llvm::Value *bias) {
  const int64_t GH = G_ * H_;
  for (int64_t dir = 0; dir < D_; ++dir) {
    llvm::Value *wb = at(bOp_, dir * 2 * GH), *rb = at(bOp_, dir * 2 * GH + GH);
    llvm::Value *out = at(bias, dir * GH);
    rows::forLanes(ctx_, GH, [&](llvm::Value *j, int lanes) {
      llvm::Value *v = load(lanes, wb, j);
      if (!lbr_)
        v = b_.CreateFAdd(v, load(lanes, rb, j));
      store(v, out, j);
    });
  }
}

/// rt[k, n] = R[dir][n, k]: R^T, [H, G*H], for the step GEMMs.
void RecurrentLowering::emitTransposeR(llvm::Value *dir, llvm::Value *rt) {
  const int64_t GH = G_ * H_;
  llvm::Value *r = at(r_, mul(dir, GH * H_));
  llvm::Type *f32 = b_.getFloatTy();
  ctx_.emitLoop(0, GH, 1, [&](llvm::Value *n) {
    llvm::Value *src = at(r, mul(n, H_));
    ctx_.emitLoop(0, H_, 1, [&](llvm::Value *k) {
      store(ctx_.load(f32, f32, src, k), rt, add(mul(k, GH), n));
    }, "k");
  }, "n");
}

std::pair<llvm::Value *, llvm::Value *>
RecurrentLowering::lstmCell(int lanes, llvm::Value *gi, llvm::Value *go,
                            llvm::Value *gf, llvm::Value *gc, llvm::Value *c,
                            llvm::Value *p, llvm::Value *pj) {
  const int64_t H = H_;
  // Peepholes i, o, f at offsets 0, H, 2H.
  if (p) {
    gi = fmuladd(b_, load(lanes, p, pj), c, gi);
    gf = fmuladd(b_, load(lanes, p, add(pj, i64(2 * H))), c, gf);
  }
  llvm::Value *i = gate(gi);
  llvm::Value *f = inputForget_ ? b_.CreateFSub(splat(lanes, 1.0), i)
                                : gate(gf);
  llvm::Value *cNew = fmuladd(b_, f, c, b_.CreateFMul(i, act(gc)));
  if (p)
    go = fmuladd(b_, load(lanes, p, add(pj, i64(H))), cNew, go);
  return {cNew, b_.CreateFMul(gate(go), act(cNew))};
}

void RecurrentLowering::emitLstmGates(llvm::Value *dir, llvm::Value *t,
                                      llvm::Value *xwStep) {
  const int64_t H = H_, ldc = layout1_ ? T_ * N_ : N_;
  llvm::Value *p = p_ ? at(p_, mul(dir, 3 * H)) : nullptr;
  ctx_.emitLoop(0, B_, 1, [&](llvm::Value *bi) {
    llvm::Value *pre = at(xwStep, mul(bi, ldc));
    llvm::Value *state = mul(bi, H);
    llvm::Value *yRow = at(y_, yIndex(t, dir, bi));
    rows::forLanes(ctx_, H, [&](llvm::Value *j, int lanes) {
      llvm::Value *sj = add(state, j);
      // Gates i, o, f, c at column offsets 0, H, 2H, 3H.
      auto [cNew, h] = lstmCell(lanes, load(lanes, pre, j),
                                load(lanes, pre, add(j, i64(H))),
                                load(lanes, pre, add(j, i64(2 * H))),
                                load(lanes, pre, add(j, i64(3 * H))),
                                load(lanes, c_, sj), p, j);
      store(cNew, c_, sj);
      store(h, h_, sj);
      store(h, yRow, j);
    });
  }, "b");
}

void RecurrentLowering::emitRnnGates(llvm::Value *dir, llvm::Value *t,
                                     llvm::Value *xwStep) {
  const int64_t ldc = layout1_ ? T_ * N_ : N_;
  ctx_.emitLoop(0, B_, 1, [&](llvm::Value *bi) {
    llvm::Value *pre = at(xwStep, mul(bi, ldc));
    llvm::Value *yRow = at(y_, yIndex(t, dir, bi));
    llvm::Value *state = mul(bi, H_);
    rows::forLanes(ctx_, H_, [&](llvm::Value *j, int lanes) {
      llvm::Value *v = clip(load(lanes, pre, j));
      llvm::Value *h;
      if (activation_ == "relu")
        h = b_.CreateSelect(b_.CreateFCmpOLT(v, splat(lanes, 0.0)),
                            splat(lanes, 0.0), v);
      else if (activation_ == "sigmoid")
        h = sigmoidF32(b_, v);
      else
        h = tanhF32(b_, v);
      store(h, h_, add(state, j));
      store(h, yRow, j);
    });
  }, "b");
}

/// phase 0 (linear_before_reset = 0, after the z/r GEMM): z (stored back
/// over its pre-activation) and r*h into tmp. phase 1 (after the R_h GEMM, or
/// the only phase with linear_before_reset): the new h.
void RecurrentLowering::emitGruGates(llvm::Value *dir, llvm::Value *t,
                                     llvm::Value *xwStep, int phase) {
  const int64_t H = H_, ldc = layout1_ ? T_ * N_ : N_;
  ctx_.emitLoop(0, B_, 1, [&](llvm::Value *bi) {
    llvm::Value *pre = at(xwStep, mul(bi, ldc));
    llvm::Value *state = mul(bi, H);
    llvm::Value *yRow = at(y_, yIndex(t, dir, bi));
    llvm::Value *hr = lbr_ ? at(tmp_, mul(bi, 3 * H)) : nullptr;
    rows::forLanes(ctx_, H, [&](llvm::Value *j, int lanes) {
      llvm::Value *sj = add(state, j);
      llvm::Value *h = load(lanes, h_, sj);
      // Gates z, r, h at column offsets 0, H, 2H.
      llvm::Value *jz = j, *jr = add(j, i64(H)), *jh = add(j, i64(2 * H));
      if (!lbr_ && phase == 0) {
        llvm::Value *z = gate(load(lanes, pre, jz));
        llvm::Value *r = gate(load(lanes, pre, jr));
        store(z, pre, jz);
        store(b_.CreateFMul(r, h), tmp_, sj);
        return;
      }
      llvm::Value *z, *n;
      if (lbr_) {
        z = gate(b_.CreateFAdd(load(lanes, pre, jz), load(lanes, hr, jz)));
        llvm::Value *r =
            gate(b_.CreateFAdd(load(lanes, pre, jr), load(lanes, hr, jr)));
        n = act(fmuladd(b_, r, load(lanes, hr, jh), load(lanes, pre, jh)));
      } else {
        z = load(lanes, pre, jz);
        n = act(load(lanes, pre, jh));
      }
      // (1 - z) n + z h, as the reference rounds it.
      llvm::Value *hNew = fmuladd(
          b_, b_.CreateFSub(splat(lanes, 1.0), z), n, b_.CreateFMul(z, h));
      store(hNew, h_, sj);
      store(hNew, yRow, j);
    });
  }, "b");
}

/// Blocks of hidden units the blocked step aims at: enough tasks for a few
/// threads, each a GEMM of >= 4*HB columns.
constexpr int64_t kTargetBlocks = 8;
/// A block's GEMM flops worth a task (a parallel region costs a few us).
constexpr int64_t kMinBlockFlops = int64_t(1) << 17;

/// The single-threaded GEMM of one block of the blocked LSTM step: A (h)
/// and B (R) both prepacked with `bl`, whose KC covers K.
absl::StatusOr<llvm::Function *> blockGemm(LoweringContext &ctx,
                                           const GemmShape &s, GemmBlocking bl) {
  bl.NC = roundUp(s.N, bl.NR);
  const std::string name =
      "tcpu_lstm_block_gemm_" + std::to_string(s.M) + "x" +
      std::to_string(s.N) + "x" + std::to_string(s.K) + "_ldc" +
      std::to_string(s.ldc) + "_mr" + std::to_string(bl.MR) + "_nr" +
      std::to_string(bl.NR) + "_mc" + std::to_string(bl.MC);
  if (llvm::Function *f = ctx.module().getFunction(name))
    return f;
  GemmOptions o;
  o.blocking = bl;
  o.parallel = false;
  o.prepackedA = o.prepackedB = true;
  absl::StatusOr<GemmKernel> k =
      emitGemmFunction(ctx.module(), ctx.target(), s, {}, name, o);
  if (!k.ok())
    return k.status();
  // Both operands come packed: no packing memory (a kernel asking
  // tcpu_thread_scratch would get the op's own scratch block back).
  if (k->scratchBytesPerThread != 0)
    return absl::InternalError(name + " needs packing memory");
  return k->function;
}

bool RecurrentLowering::planBlocked() {
  const int64_t GH = G_ * H_;
  if (cell_ != Cell::Lstm || T_ == 0 || !prepackable(ctx_, 1, N_ * I_) ||
      !prepackable(ctx_, 2, D_ * GH * H_))
    return false;
  GemmShape full;
  full.M = B_;
  full.N = GH;
  full.K = H_;
  full.transB = true;
  GemmBlocking bl = chooseGemmBlocking(ctx_.target(), full, true);
  // h and R's panels span the whole K: sizes whose K needs no blocking.
  if (bl.KC < H_)
    return false;
  // Blocks start on a panel of R (4*HB a multiple of NR) and on a vector.
  const int64_t W = std::max(1, ctx_.vectorWidth());
  const int64_t unit = std::lcm(bl.NR / std::gcd(bl.NR, int64_t{4}), W);
  hb_ = roundUp(ceilDiv(H_, kTargetBlocks), unit);
  nb_ = ceilDiv(H_, hb_);
  hbLast_ = H_ - (nb_ - 1) * hb_;
  blk_ = bl;
  blk_.KC = H_;
  blk_.packB = true;
  return true;
}

int64_t RecurrentLowering::blockedSource(int64_t n) const {
  const int64_t blk = n / (4 * hb_), r = n % (4 * hb_);
  const int64_t w = blk == nb_ - 1 ? hbLast_ : hb_;
  return r / w * H_ + blk * hb_ + r % w;
}

/// Replaces the constant operand (D*G*H rows of shape.K floats) by its rows
/// permuted into hidden blocks, packed as `count` B matrices of `shape`
/// (transB). Returns the floats between two packed matrices.
int64_t RecurrentLowering::packBlocked(int operand, const GemmShape &shape,
                                       const GemmBlocking &bl, int64_t count) {
  const Tensor *t = ctx_.constantOperand(static_cast<size_t>(operand));
  const float *src = static_cast<const float *>(t->data());
  const int64_t GH = G_ * H_, len = shape.K;
  std::vector<float> permuted(static_cast<size_t>(D_ * GH * len));
  for (int64_t d = 0; d < D_; ++d)
    for (int64_t n = 0; n < GH; ++n)
      std::copy_n(src + (d * GH + blockedSource(n)) * len, len,
                  permuted.data() + (d * GH + n) * len);
  const int64_t each = prepackedBFloats(shape, bl);
  auto packed = std::make_shared<PackedConstant>(each * count);
  for (int64_t i = 0; i < count; ++i)
    prepackB(permuted.data() + i * (D_ * GH / count) * len, shape, bl,
             packed->data() + i * each);
  ctx_.replaceOperand(static_cast<size_t>(operand), std::move(packed));
  return each;
}

/// bias[dir*GH + n] = Wb + Rb of source column blockedSource(n).
void RecurrentLowering::emitBlockedBias(llvm::Value *bias) {
  const int64_t GH = G_ * H_;
  llvm::Type *f32 = b_.getFloatTy();
  ctx_.emitLoop(0, D_ * GH, 1, [&](llvm::Value *dn) {
    llvm::Value *d = b_.CreateUDiv(dn, i64(GH));
    llvm::Value *n = b_.CreateSub(dn, mul(d, GH));
    llvm::Value *blk = b_.CreateUDiv(n, i64(4 * hb_));
    llvm::Value *r = b_.CreateSub(n, mul(blk, 4 * hb_));
    llvm::Value *w = b_.CreateSelect(b_.CreateICmpEQ(blk, i64(nb_ - 1)),
                                     i64(hbLast_), i64(hb_));
    llvm::Value *g = b_.CreateUDiv(r, w);
    llvm::Value *src =
        add(add(mul(g, H_), mul(blk, hb_)), b_.CreateSub(r, b_.CreateMul(g, w)));
    llvm::Value *wb = at(bOp_, mul(d, 2 * GH));
    llvm::Value *v = b_.CreateFAdd(ctx_.load(f32, f32, wb, src),
                                   ctx_.load(f32, f32, wb, add(src, i64(GH))));
    store(v, bias, dn);
  }, "bias");
}

llvm::Value *RecurrentLowering::packedIndex(llvm::Value *bi, llvm::Value *k) {
  const int64_t MR = blk_.MR;
  return add(add(mul(b_.CreateUDiv(bi, i64(MR)), MR * H_), mul(k, MR)),
             b_.CreateURem(bi, i64(MR)));
}

/// Zeroes both packed h buffers (the rows padding B to MR stay zero) and
/// packs initial_h into the first.
void RecurrentLowering::emitBlockedInit(llvm::Value *stateBase,
                                        int64_t stateStride) {
  const int64_t bytes = roundUp(B_, blk_.MR) * H_ * 4;
  for (llvm::Value *buf : hPack_)
    b_.CreateMemSet(buf, b_.getInt8(0), bytes, llvm::MaybeAlign(4));
  if (!h0_)
    return;
  llvm::Type *f32 = b_.getFloatTy();
  ctx_.emitLoop(0, B_, 1, [&](llvm::Value *bi) {
    llvm::Value *row = at(h0_, add(stateBase, mul(bi, stateStride)));
    ctx_.emitLoop(0, H_, 1, [&](llvm::Value *k) {
      store(ctx_.load(f32, f32, row, k), hPack_[0], packedIndex(bi, k));
    }, "k");
  }, "row");
}

/// Step s (time t) of the blocked LSTM: one parallel region, one task per
/// block of hidden units (GEMM of its 4*hb columns, then its gate math).
void RecurrentLowering::emitBlockedStep(llvm::Value *dir, llvm::Value *t,
                                        llvm::Value *s) {
  const int64_t GH = G_ * H_, H = H_, ldc = layout1_ ? T_ * N_ : N_,
                MR = blk_.MR, W = std::max(1, ctx_.vectorWidth());
  llvm::Value *xwStep =
      at(xw_, add(layout1_ ? mul(t, N_) : mul(t, B_ * N_), mul(dir, GH)));
  llvm::Value *odd = b_.CreateTrunc(s, b_.getInt1Ty());
  std::vector<llvm::Value *> cap = {
      xwStep, b_.CreateSelect(odd, hPack_[1], hPack_[0]),
      b_.CreateSelect(odd, hPack_[0], hPack_[1]),
      at(r_, mul(dir, packedRStride_)), h_, c_, y_, t, dir};
  if (p_)
    cap.push_back(at(p_, mul(dir, 3 * H)));
  const int64_t flops = 2 * B_ * 4 * hb_ * H;
  ctx_.emitParallelFor(nb_, std::max<int64_t>(1, ceilDiv(kMinBlockFlops, flops)),
                       cap, [&](llvm::Value *first, llvm::Value *last) {
    llvm::Value *xw = cap[0], *hPrev = cap[1], *hNext = cap[2], *r = cap[3],
                *hOut = cap[4], *c = cap[5], *y = cap[6], *tt = cap[7],
                *d = cap[8], *p = p_ ? cap[9] : nullptr;
    llvm::Value *null = llvm::ConstantPointerNull::get(b_.getPtrTy());
    ctx_.emitLoop(first, last, 1, [&](llvm::Value *blk) {
      llvm::Value *isLast = b_.CreateICmpEQ(blk, i64(nb_ - 1));
      llvm::Value *j0 = mul(blk, hb_), *col0 = mul(blk, 4 * hb_);
      llvm::Value *callee = lastBlockGemm_;
      if (blockGemm_ && blockGemm_ != lastBlockGemm_)
        callee = b_.CreateSelect(isLast, lastBlockGemm_, blockGemm_);
      b_.CreateCall(lastBlockGemm_->getFunctionType(), callee,
                    {hPrev, at(r, mul(col0, H)), at(xw, col0), null, null,
                     null});
      // This block's width and its gates' offsets in its columns.
      llvm::Value *w = b_.CreateSelect(isLast, i64(hbLast_), i64(hb_));
      llvm::Value *vectorEnd = mul(b_.CreateUDiv(w, i64(W)), W);
      ctx_.emitLoop(0, B_, 1, [&](llvm::Value *bi) {
        llvm::Value *pre = at(xw, add(mul(bi, ldc), col0));
        llvm::Value *state = add(mul(bi, H), j0);
        llvm::Value *yRow = at(y, add(yIndex(tt, d, bi), j0));
        llvm::Value *packRow = at(hNext, packedIndex(bi, j0));
        auto body = [&](llvm::Value *jj, int lanes) {
          llvm::Value *sj = add(state, jj);
          auto [cNew, h] = lstmCell(
              lanes, load(lanes, pre, jj), load(lanes, pre, add(jj, w)),
              load(lanes, pre, add(jj, b_.CreateMul(w, i64(2)))),
              load(lanes, pre, add(jj, b_.CreateMul(w, i64(3)))),
              load(lanes, c, sj), p, add(j0, jj));
          store(cNew, c, sj);
          store(h, hOut, sj);
          store(h, yRow, jj);
          // h_t in the packed A layout of the next step: stride MR along k.
          llvm::Value *dst = at(packRow, mul(jj, MR));
          if (lanes == 1) {
            store(h, dst, i64(0));
            return;
          }
          // i32 offsets: one 16-lane scatter on AVX-512 (i64 ones split).
          std::vector<llvm::Constant *> offsets;
          for (int l = 0; l < lanes; ++l)
            offsets.push_back(b_.getInt32(static_cast<int32_t>(l * MR)));
          b_.CreateMaskedScatter(
              h, b_.CreateGEP(b_.getFloatTy(), dst,
                              llvm::ConstantVector::get(offsets)),
              llvm::Align(4));
        };
        ctx_.emitLoop(i64(0), vectorEnd, W,
                      [&](llvm::Value *jj) { body(jj, static_cast<int>(W)); },
                      "cv");
        ctx_.emitLoop(vectorEnd, w, 1,
                      [&](llvm::Value *jj) { body(jj, 1); }, "cs");
      }, "b");
    }, "block");
  });
}

void RecurrentLowering::emitStep(llvm::Value *dir, llvm::Value *t) {
  const int64_t GH = G_ * H_;
  // The first XW element of this step and direction.
  llvm::Value *xwStep =
      at(xw_, add(layout1_ ? mul(t, N_) : mul(t, B_ * N_), mul(dir, GH)));
  switch (cell_) {
  case Cell::Lstm:
    callGemm(stepA_, h_, stepB(dir, 0), xwStep, nullptr);
    emitLstmGates(dir, t, xwStep);
    break;
  case Cell::Rnn:
    callGemm(stepA_, h_, stepB(dir, 0), xwStep, nullptr);
    emitRnnGates(dir, t, xwStep);
    break;
  case Cell::Gru:
    if (lbr_) {
      llvm::Value *rb =
          bOp_ ? at(bOp_, add(mul(dir, 2 * GH), i64(GH))) : nullptr;
      callGemm(stepA_, h_, stepB(dir, 0), tmp_, rb);
      emitGruGates(dir, t, xwStep, 1);
    } else {
      callGemm(stepA_, h_, stepB(dir, 0), xwStep, nullptr);
      emitGruGates(dir, t, xwStep, 0);
      callGemm(stepB_, tmp_, stepB(dir, 2 * H_), at(xwStep, 2 * H_), nullptr);
      emitGruGates(dir, t, xwStep, 1);
    }
    break;
  }
}

absl::Status RecurrentLowering::run() {
  std::string name(op_.mnemonic());
  for (const Value *v : op_.operands)
    if (v && v->type.dtype != DType::F32)
      return absl::UnimplementedError("'" + name + "' is lowered for f32 only");
  const TensorType &xt = op_.operand(0)->type, &yt = op_.result(0)->type;
  layout1_ = op_.attrs.getInt("layout") == 1;
  T_ = layout1_ ? yt.shape[1] : yt.shape[0];
  D_ = layout1_ ? yt.shape[2] : yt.shape[1];
  B_ = layout1_ ? yt.shape[0] : yt.shape[2];
  H_ = yt.shape[3];
  I_ = xt.shape[2];
  G_ = cell_ == Cell::Lstm ? 4 : cell_ == Cell::Gru ? 3 : 1;
  N_ = D_ * G_ * H_;
  direction_ = op_.attrs.getString("direction", "forward");
  hasClip_ = op_.attrs.has("clip");
  clip_ = op_.attrs.getFloat("clip");
  inputForget_ = cell_ == Cell::Lstm && op_.attrs.getInt("input_forget") != 0;
  lbr_ = cell_ == Cell::Gru && op_.attrs.getInt("linear_before_reset") != 0;
  activation_ = op_.attrs.getString("activation", "tanh");
  if (B_ == 0) { // every result is empty
    ctx_.finish();
    return absl::OkStatus();
  }
  if (I_ == 0 && T_ > 0)
    return absl::UnimplementedError("'" + name + "' with input size 0 stays "
                                    "on the interpreter");

  x_ = ctx_.operandPtr(0);
  w_ = ctx_.operandPtr(1);
  r_ = ctx_.operandPtr(2);
  bOp_ = op_.operand(3) ? ctx_.operandPtr(3) : nullptr;
  h0_ = op_.operand(4) ? ctx_.operandPtr(4) : nullptr;
  if (cell_ == Cell::Lstm) {
    c0_ = op_.operand(5) ? ctx_.operandPtr(5) : nullptr;
    p_ = op_.operand(6) ? ctx_.operandPtr(6) : nullptr;
  }
  y_ = ctx_.resultPtr(0);
  yh_ = ctx_.resultPtr(1);
  if (cell_ == Cell::Lstm)
    yc_ = ctx_.resultPtr(2);

  // The GEMMs.
  const int64_t GH = G_ * H_;
  SharedGemm proj;
  blocked_ = planBlocked();
  if (blocked_) {
    GemmShape step;
    step.M = B_;
    step.K = H_;
    step.lda = step.ldb = H_;
    step.ldc = layout1_ ? T_ * N_ : N_;
    step.beta = 1.0f;
    step.transB = true;
    step.N = 4 * hbLast_;
    absl::StatusOr<llvm::Function *> f = blockGemm(ctx_, step, blk_);
    if (!f.ok())
      return f.status();
    lastBlockGemm_ = *f;
    if (nb_ > 1) {
      step.N = 4 * hb_;
      f = blockGemm(ctx_, step, blk_);
      if (!f.ok())
        return f.status();
      blockGemm_ = *f;
    }
  }
  if (T_ > 0) {
    GemmShape s;
    s.M = T_ * B_;
    s.N = N_;
    s.K = I_;
    s.transB = true;
    // Constant weights (W, and R below) are packed once, at compile time.
    const bool packW = prepackable(ctx_, 1, N_ * I_);
    absl::StatusOr<SharedGemm> g = sharedGemm(ctx_, s, bOp_ != nullptr, packW);
    if (!g.ok())
      return g.status();
    proj = *g;
    if (blocked_) {
      packBlocked(1, s, proj.blocking, 1);
      GemmShape r;
      r.N = GH;
      r.K = H_;
      r.transB = true;
      packedRStride_ = packBlocked(2, r, blk_, D_);
    } else if (packW) {
      prepackOperand(ctx_, 1, /*asA=*/false, s, proj.blocking);
    }
  }
  if (T_ > 0 && !blocked_) {
    GemmShape step;
    step.M = B_;
    step.K = H_;
    step.ldb = GH;
    step.ldc = layout1_ ? T_ * N_ : N_;
    step.beta = 1.0f;
    step.N = cell_ == Cell::Gru && !lbr_ ? 2 * H_ : GH;
    if (lbr_) { // into tmp [B, 3H], plus Rb
      step.ldc = GH;
      step.beta = 0.0f;
    }
    // With more than one step, R is transposed once: the GEMM then reads
    // R^T in place (small batches) or packs it with vector copies, where
    // packing from R (transB) would transpose it again at every step.
    const bool packR = prepackable(ctx_, 2, D_ * GH * H_) &&
                       !(cell_ == Cell::Gru && !lbr_);
    transposeR_ = T_ > 1 && !packR;
    if (!transposeR_) {
      step.transB = true;
      step.ldb = H_;
    }
    absl::StatusOr<SharedGemm> g = sharedGemm(ctx_, step, lbr_ && bOp_, packR);
    if (!g.ok())
      return g.status();
    stepA_ = *g;
    if (packR)
      packedRStride_ = prepackOperand(ctx_, 2, /*asA=*/false, step,
                                      stepA_.blocking, D_, GH * H_);
    if (cell_ == Cell::Gru && !lbr_) {
      step.N = H_;
      g = sharedGemm(ctx_, step, false);
      if (!g.ok())
        return g.status();
      stepB_ = *g;
    }
  }

  // One scratch block: XW, R^T, bias, h, c, tmp, then the GEMMs' memory.
  int64_t floats = 0;
  auto reserve = [&](int64_t n) {
    int64_t at = floats;
    floats += roundUp16(n);
    return at;
  };
  const int64_t xwAt = reserve(T_ * B_ * N_),
                rtAt = transposeR_ ? reserve(H_ * GH) : 0,
                biasAt = bOp_ ? reserve(N_) : 0, hAt = reserve(B_ * H_),
                cAt = cell_ == Cell::Lstm ? reserve(B_ * H_) : 0,
                tmpAt = cell_ == Cell::Gru ? reserve(B_ * (lbr_ ? GH : H_)) : 0,
                hPackAt = blocked_ ? reserve(roundUp(B_, blk_.MR) * H_) : 0,
                hPack1At =
                    blocked_ ? reserve(roundUp(B_, blk_.MR) * H_) : 0;
  const int64_t perThread = std::max({proj.scratchPerThread,
                                      stepA_.scratchPerThread,
                                      stepB_.scratchPerThread});
  llvm::Value *bytes = i64(floats * 4);
  if (perThread > 0) {
    llvm::Value *threads = b_.CreateCall(
        ctx_.module().getOrInsertFunction(
            "tcpu_num_threads",
            llvm::FunctionType::get(b_.getInt64Ty(), false)),
        {});
    bytes = b_.CreateAdd(bytes, b_.CreateMul(threads, i64(perThread)));
  }
  llvm::Value *base = b_.CreateCall(
      ctx_.module().getOrInsertFunction(
          "tcpu_thread_scratch",
          llvm::FunctionType::get(b_.getPtrTy(), {b_.getInt64Ty()}, false)),
      {bytes});
  xw_ = at(base, xwAt);
  rt_ = transposeR_ ? at(base, rtAt) : nullptr;
  bias_ = bOp_ ? at(base, biasAt) : nullptr;
  h_ = at(base, hAt);
  c_ = cell_ == Cell::Lstm ? at(base, cAt) : nullptr;
  tmp_ = cell_ == Cell::Gru ? at(base, tmpAt) : nullptr;
  if (blocked_) {
    hPack_[0] = at(base, hPackAt);
    hPack_[1] = at(base, hPack1At);
  }
  gemmScratch_ = perThread > 0 ? at(base, floats)
                               : llvm::ConstantPointerNull::get(b_.getPtrTy());

  // 1. The input projection of every step and direction.
  if (bOp_ && blocked_)
    emitBlockedBias(bias_);
  else if (bOp_)
    emitBias(bias_);
  if (T_ > 0)
    callGemm(proj, x_, w_, xw_, bias_);

  // 2. The recurrence, one direction after the other.
  const bool bidirectional = direction_ == "bidirectional";
  // initial_h / y_h row of (dir, b): layout 0 [D, B, H], layout 1 [B, D, H].
  const int64_t stateStride = layout1_ ? D_ * H_ : H_;
  ctx_.emitLoop(0, D_, 1, [&](llvm::Value *dir) {
    llvm::Value *stateBase = layout1_ ? mul(dir, H_) : mul(dir, B_ * H_);
    for (const std::pair<llvm::Value *, llvm::Value *> &io :
         {std::pair{h0_, h_}, std::pair{c0_, c_}}) {
      llvm::Value *init = io.first, *state = io.second;
      if (!state || (blocked_ && state == h_))
        continue;
      if (init)
        copyRows(state, H_, init, stateBase, stateStride);
      else
        b_.CreateMemSet(state, b_.getInt8(0), B_ * H_ * 4, llvm::MaybeAlign(4));
    }
    if (blocked_)
      emitBlockedInit(stateBase, stateStride);
    if (transposeR_)
      emitTransposeR(dir, rt_);
    llvm::Value *reverse =
        bidirectional ? b_.CreateICmpEQ(dir, i64(1))
                      : b_.getInt1(direction_ == "reverse");
    ctx_.emitLoop(0, T_, 1, [&](llvm::Value *s) {
      llvm::Value *t =
          b_.CreateSelect(reverse, b_.CreateSub(i64(T_ - 1), s), s);
      if (blocked_)
        emitBlockedStep(dir, t, s);
      else
        emitStep(dir, t);
    }, "step");
    for (const std::pair<llvm::Value *, llvm::Value *> &io :
         {std::pair{yh_, h_}, std::pair{yc_, c_}}) {
      llvm::Value *out = io.first, *state = io.second;
      if (!out)
        continue;
      ctx_.emitLoop(0, B_, 1, [&](llvm::Value *bi) {
        llvm::Value *d = at(out, add(stateBase, mul(bi, stateStride)));
        b_.CreateMemCpy(d, llvm::MaybeAlign(4), at(state, mul(bi, H_)),
                        llvm::MaybeAlign(4), H_ * 4);
      }, "row");
    }
  }, "dir");
  ctx_.finish();
  return absl::OkStatus();
}

} // namespace

absl::Status lowerLstm(const Op &op, LoweringContext &ctx) {
  return RecurrentLowering(op, ctx, Cell::Lstm).run();
}

absl::Status lowerGru(const Op &op, LoweringContext &ctx) {
  return RecurrentLowering(op, ctx, Cell::Gru).run();
}

absl::Status lowerRnn(const Op &op, LoweringContext &ctx) {
  return RecurrentLowering(op, ctx, Cell::Rnn).run();
}

} // namespace tcpu
