//===- Conv.cpp - Lowering of conv2d and the pools ---------------------------===//
//
// conv2d (f32, NCHW): one GEMM per (batch, group) from emitGemmFunction
// (codegen/Gemm.h),
//   out[Cout/g, OH*OW] = W[Cout/g, Cin/g*KH*KW] x col[Cin/g*KH*KW, OH*OW],
// with the bias as a per-row epilogue. col is an im2col copy of the input
// group built in tcpu_thread_scratch memory (window positions in the padding
// are 0); a 1x1, stride-1, unpadded conv uses the input itself as col. The
// scratch buffer also holds the GEMM's packing memory, so the GEMM never asks
// tcpu_thread_scratch itself (which would hand back the im2col buffer).
// Convs of one GEMM shape share one GEMM function. Depthwise convs (groups
// == Cin, Cout = Cin * multiplier) are a direct kernel instead: the windowed
// scheme of the pools below with a multiply-add by the (splatted) weights.
//
// max_pool2d / avg_pool2d (f32): each input plane is copied into a padded
// plane (scratch memory, filled once with -inf for max and 0 for avg) that
// covers every window position, so windows need no bounds checks; outputs
// are computed a vector of the output width at a time (strided windows load
// stride*W contiguous floats and pick every stride-th lane), with a scalar
// remainder. Max keeps the reference's order and NaN rule (a NaN wins and
// stays); avg divides the f32 window sum by the reference's count, which is
// separable: count(oh, ow) = countH[oh] * countW[ow].
//
// global_avg_pool (f32): a vector sum per plane, reduced, plus a scalar
// remainder, divided by the plane size (an empty plane gives NaN).
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "codegen/Lowering.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Intrinsics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

namespace tcpu {

namespace {

bool allF32(const Op &op) {
  for (const tcpu::Value *v : op.operands)
    if (v && v->type.dtype != DType::F32)
      return false;
  return op.result(0)->type.dtype == DType::F32;
}

int64_t floorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

/// Window geometry along one spatial axis (as in ir/ops/Conv.cpp).
struct Axis {
  int64_t in, out, kernel, stride, padBegin, padEnd, dilation;
  int64_t coord(int64_t o, int64_t k) const {
    return o * stride - padBegin + k * dilation;
  }
  /// Outputs [lo, hi) whose window position k falls inside the input.
  void validOutputs(int64_t k, int64_t &lo, int64_t &hi) const {
    int64_t off = k * dilation - padBegin;
    lo = std::max<int64_t>(0, ceilDiv(-off, stride));
    hi = std::min<int64_t>(out, floorDiv(in - 1 - off, stride) + 1);
    if (hi < lo)
      hi = lo;
  }
};

std::vector<int64_t> intsOr(const Op &op, const std::string &name,
                            std::vector<int64_t> fallback) {
  std::vector<int64_t> v = op.attrs.getInts(name);
  return v.empty() ? fallback : v;
}

/// Element `index` of the f32 array at `base` (a plain GEP: the address
/// may lie before the array when index is negative on its own).
llvm::Value *at(LoweringContext &ctx, llvm::Value *base, llvm::Value *index) {
  return ctx.b().CreateGEP(ctx.b().getFloatTy(), base, index);
}

llvm::Value *threadScratch(LoweringContext &ctx, llvm::Value *bytes) {
  llvm::IRBuilder<> &b = ctx.b();
  return b.CreateCall(ctx.module().getOrInsertFunction(
                          "tcpu_thread_scratch",
                          llvm::FunctionType::get(b.getPtrTy(),
                                                  {b.getInt64Ty()}, false)),
                      {bytes});
}

void zero(LoweringContext &ctx, llvm::Value *ptr, int64_t floats) {
  if (floats > 0)
    ctx.b().CreateMemSet(ptr, ctx.b().getInt8(0), floats * 4, llvm::MaybeAlign(4));
}

/// col[(ic, kh, kw), (oh, ow)] = x[ic, ih, iw] (0 in the padding) for the
/// Cg channels at `xg`.
void emitIm2col(LoweringContext &ctx, llvm::Value *xg, llvm::Value *col, int64_t Cg,
                const Axis &h, const Axis &w) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy();
  const int64_t P = h.out * w.out, inPlane = h.in * w.in;
  const int64_t KK = h.kernel * w.kernel;
  ctx.emitLoop(0, Cg, 1, [&](llvm::Value *ic) {
    llvm::Value *src = at(ctx, xg, b.CreateMul(ic, ctx.i64(inPlane)));
    llvm::Value *colC = at(ctx, col, b.CreateMul(ic, ctx.i64(KK * P)));
    for (int64_t kh = 0; kh < h.kernel; ++kh) {
      int64_t ohLo, ohHi;
      h.validOutputs(kh, ohLo, ohHi);
      for (int64_t kw = 0; kw < w.kernel; ++kw) {
        int64_t owLo, owHi;
        w.validOutputs(kw, owLo, owHi);
        llvm::Value *row = at(ctx, colC, ctx.i64((kh * w.kernel + kw) * P));
        if (owLo >= owHi || ohLo >= ohHi) {
          zero(ctx, row, P);
          continue;
        }
        zero(ctx, row, ohLo * w.out);
        zero(ctx, at(ctx, row, ctx.i64(ohHi * w.out)), (h.out - ohHi) * w.out);
        const int64_t colOff = kw * w.dilation - w.padBegin;
        ctx.emitLoop(ohLo, ohHi, 1, [&](llvm::Value *oh) {
          llvm::Value *dst = at(ctx, row, b.CreateMul(oh, ctx.i64(w.out)));
          llvm::Value *ih = b.CreateAdd(b.CreateMul(oh, ctx.i64(h.stride)),
                                  ctx.i64(kh * h.dilation - h.padBegin));
          llvm::Value *srcRow = at(ctx, src,
                             b.CreateAdd(b.CreateMul(ih, ctx.i64(w.in)),
                                         ctx.i64(colOff)));
          zero(ctx, dst, owLo);
          zero(ctx, at(ctx, dst, ctx.i64(owHi)), w.out - owHi);
          if (w.stride == 1) {
            b.CreateMemCpy(at(ctx, dst, ctx.i64(owLo)), llvm::MaybeAlign(4),
                           at(ctx, srcRow, ctx.i64(owLo)), llvm::MaybeAlign(4),
                           (owHi - owLo) * 4);
          } else {
            ctx.emitLoop(owLo, owHi, 1, [&](llvm::Value *ow) {
              llvm::Value *v = ctx.load(f32, f32, srcRow,
                                  b.CreateMul(ow, ctx.i64(w.stride)));
              ctx.store(v, f32, dst, ow);
            }, "ow");
          }
        }, "oh");
      }
    }
  }, "ic");
}

/// A private constant array of floats.
llvm::Value *constFloats(LoweringContext &ctx, const std::vector<float> &values,
                   const std::string &name) {
  llvm::Constant *init = llvm::ConstantDataArray::get(ctx.llvm(), values);
  return new llvm::GlobalVariable(ctx.module(), init->getType(), true,
                                  llvm::GlobalValue::PrivateLinkage, init,
                                  ctx.function()->getName().str() + "." + name);
}

/// A plane padded so that every window position of every output lies in
/// it: Hp x Wp floats, input rows [0, rows) and columns [0, cols) copied at
/// (padBegin, padBegin).
struct PaddedPlane {
  int64_t Hp = 0, Wp = 0, rows = 0, cols = 0;
  bool wideLoad = false;
};

/// nullopt when some axis never touches the input (every window lies in
/// the padding).
std::optional<PaddedPlane> paddedPlane(const Axis &h, const Axis &w, int VW) {
  PaddedPlane pp;
  // Strided vector windows load stride * VW contiguous floats (up to 4).
  pp.wideLoad = VW > 1 && w.stride <= 4;
  pp.Hp = (h.out - 1) * h.stride + (h.kernel - 1) * h.dilation + 1;
  pp.Wp = (w.out - 1) * w.stride + (w.kernel - 1) * w.dilation + 1 +
          (pp.wideLoad ? w.stride - 1 : 0);
  pp.rows = std::min(h.in, pp.Hp - h.padBegin);
  pp.cols = std::min(w.in, pp.Wp - w.padBegin);
  if (pp.rows <= 0 || pp.cols <= 0)
    return std::nullopt;
  return pp;
}

/// What a windowed kernel does at each output.
struct WindowHooks {
  float fill = 0; // the padding value
  /// Called once per output plane j of input plane `plane`, before its rows.
  std::function<void(llvm::Value *plane, llvm::Value *j)> prologue;
  /// The starting accumulator of `lanes` lanes.
  std::function<llvm::Value *(int lanes)> init;
  /// acc combined with the window values v at position (kh, kw).
  std::function<llvm::Value *(llvm::Value *acc, llvm::Value *v, int64_t kh,
                              int64_t kw, int lanes)>
      combine;
  /// The value stored for outputs (oh, ow .. ow + lanes); null = acc.
  std::function<llvm::Value *(llvm::Value *acc, llvm::Value *oh,
                              llvm::Value *ow, int lanes)>
      finish;
};

/// For each of `planes` input planes of x: copy it into the padded plane,
/// then for each of its `outsPerPlane` output planes (output plane
/// plane * outsPerPlane + j) compute every output from its window.
void emitWindowed(LoweringContext &ctx, llvm::Value *x, llvm::Value *out,
                  const Axis &h, const Axis &w, const PaddedPlane &pp,
                  int64_t planes, int64_t outsPerPlane, const WindowHooks &k) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy();
  const int VW = ctx.vectorWidth();
  const int64_t Hp = pp.Hp, Wp = pp.Wp;
  llvm::Value *buf = threadScratch(ctx, ctx.i64(Hp * Wp * 4));
  // Fill once: the interior is rewritten per plane, the border never.
  if (k.fill != 0.0f) {
    int64_t n = Hp * Wp, nv = VW > 1 ? n / VW * VW : 0;
    ctx.emitLoop(0, nv, VW, [&](llvm::Value *i) {
      ctx.store(b.CreateVectorSplat(VW, llvm::ConstantFP::get(f32, k.fill)), f32,
                buf, i);
    }, "fill");
    ctx.emitLoop(nv, n, 1, [&](llvm::Value *i) {
      ctx.store(llvm::ConstantFP::get(f32, k.fill), f32, buf, i);
    }, "fillr");
  } else {
    zero(ctx, buf, Hp * Wp);
  }

  // The accumulated window for `lanes` outputs starting at output column
  // ow of the padded row at rowBase.
  auto window = [&](llvm::Value *rowBase, llvm::Value *ow,
                    int lanes) -> llvm::Value * {
    llvm::Type *t = ctx.vectorOf(f32, lanes);
    llvm::Value *acc = k.init(lanes);
    llvm::Value *first = b.CreateMul(ow, ctx.i64(w.stride));
    for (int64_t kh = 0; kh < h.kernel; ++kh)
      for (int64_t kw = 0; kw < w.kernel; ++kw) {
        llvm::Value *idx = b.CreateAdd(
            first, ctx.i64(kh * h.dilation * Wp + kw * w.dilation));
        llvm::Value *v;
        if (lanes == 1 || w.stride == 1) {
          v = ctx.load(t, f32, rowBase, idx);
        } else if (pp.wideLoad) {
          llvm::Value *wide = ctx.load(ctx.vectorOf(f32, lanes * w.stride),
                                       f32, rowBase, idx);
          std::vector<int> mask;
          for (int l = 0; l < lanes; ++l)
            mask.push_back(l * static_cast<int>(w.stride));
          v = b.CreateShuffleVector(wide, mask);
        } else {
          v = llvm::PoisonValue::get(t);
          for (int l = 0; l < lanes; ++l)
            v = b.CreateInsertElement(
                v,
                ctx.load(f32, f32, rowBase,
                         b.CreateAdd(idx, ctx.i64(l * w.stride))),
                static_cast<uint64_t>(l));
        }
        acc = k.combine(acc, v, kh, kw, lanes);
      }
    return acc;
  };

  ctx.emitLoop(0, planes, 1, [&](llvm::Value *pl) {
    llvm::Value *in = at(ctx, x, b.CreateMul(pl, ctx.i64(h.in * w.in)));
    ctx.emitLoop(0, pp.rows, 1, [&](llvm::Value *ih) {
      llvm::Value *dst =
          at(ctx, buf, b.CreateAdd(b.CreateMul(ih, ctx.i64(Wp)),
                                   ctx.i64(h.padBegin * Wp + w.padBegin)));
      b.CreateMemCpy(dst, llvm::MaybeAlign(4),
                     at(ctx, in, b.CreateMul(ih, ctx.i64(w.in))),
                     llvm::MaybeAlign(4), pp.cols * 4);
    }, "ih");
    ctx.emitLoop(0, outsPerPlane, 1, [&](llvm::Value *j) {
      if (k.prologue)
        k.prologue(pl, j);
      llvm::Value *o = at(
          ctx, out,
          b.CreateMul(b.CreateAdd(b.CreateMul(pl, ctx.i64(outsPerPlane)), j),
                      ctx.i64(h.out * w.out)));
      ctx.emitLoop(0, h.out, 1, [&](llvm::Value *oh) {
        llvm::Value *rowBase =
            at(ctx, buf, b.CreateMul(oh, ctx.i64(h.stride * Wp)));
        llvm::Value *orow = at(ctx, o, b.CreateMul(oh, ctx.i64(w.out)));
        auto emit = [&](llvm::Value *ow, int lanes) {
          llvm::Value *acc = window(rowBase, ow, lanes);
          if (k.finish)
            acc = k.finish(acc, oh, ow, lanes);
          ctx.store(acc, f32, orow, ow);
        };
        int64_t nv = VW > 1 ? w.out / VW * VW : 0;
        ctx.emitLoop(0, nv, VW, [&](llvm::Value *ow) { emit(ow, VW); }, "ow");
        ctx.emitLoop(nv, w.out, 1, [&](llvm::Value *ow) { emit(ow, 1); }, "owr");
      }, "oh");
    }, "j");
  }, "plane");
}

llvm::Value *splat(LoweringContext &ctx, llvm::Value *scalar, int lanes) {
  return lanes == 1 ? scalar : ctx.b().CreateVectorSplat(lanes, scalar);
}

absl::Status lowerPool(const Op &op, LoweringContext &ctx, bool isMax) {
  const TensorType &xt = op.operand(0)->type, &rt = op.result(0)->type;
  if (!allF32(op) || xt.rank() != 4 || xt.numElements() == 0 ||
      rt.numElements() == 0)
    return absl::UnimplementedError("'" + std::string(op.mnemonic()) +
                                    "' is lowered for non-empty f32 only");
  std::vector<int64_t> k = op.attrs.getInts("kernel"),
                       s = intsOr(op, "strides", {1, 1}),
                       p = intsOr(op, "pads", {0, 0, 0, 0}),
                       d = intsOr(op, "dilations", {1, 1});
  if (k.size() != 2 || s.size() != 2 || p.size() != 4 || d.size() != 2)
    return absl::UnimplementedError("pool attributes of unexpected size");
  bool includePad = op.attrs.getInt("count_include_pad", 0) != 0;
  Axis h{xt.shape[2], rt.shape[2], k[0], s[0], p[0], p[2], d[0]};
  Axis w{xt.shape[3], rt.shape[3], k[1], s[1], p[1], p[3], d[1]};
  std::optional<PaddedPlane> pp = paddedPlane(h, w, ctx.vectorWidth());
  if (!pp)
    return absl::UnimplementedError("pool window misses the input");

  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy();
  WindowHooks hooks;
  hooks.fill = isMax ? -std::numeric_limits<float>::infinity() : 0.0f;
  hooks.init = [&](int lanes) {
    return splat(ctx, llvm::ConstantFP::get(f32, hooks.fill), lanes);
  };
  hooks.combine = [&](llvm::Value *acc, llvm::Value *v, int64_t, int64_t,
                      int) -> llvm::Value * {
    if (!isMax)
      return b.CreateFAdd(acc, v);
    // The reference: if (v > best || v != v) best = v.
    llvm::Value *take =
        b.CreateOr(b.CreateFCmpOGT(v, acc), b.CreateFCmpUNO(v, v));
    return b.CreateSelect(take, v, acc);
  };
  if (!isMax) {
    // Divisors: countH[oh] * countW[ow] (exact in f32).
    auto counts = [&](const Axis &a) {
      std::vector<float> c(static_cast<size_t>(a.out));
      for (int64_t o = 0; o < a.out; ++o) {
        int64_t n = 0;
        for (int64_t kk = 0; kk < a.kernel; ++kk) {
          int64_t x = a.coord(o, kk);
          n += includePad ? (x >= -a.padBegin && x < a.in + a.padEnd)
                          : (x >= 0 && x < a.in);
        }
        c[o] = static_cast<float>(n);
      }
      return c;
    };
    llvm::Value *countH = constFloats(ctx, counts(h), "counth");
    llvm::Value *countW = constFloats(ctx, counts(w), "countw");
    hooks.finish = [&, countH, countW](llvm::Value *acc, llvm::Value *oh,
                                       llvm::Value *ow, int lanes) {
      llvm::Type *t = ctx.vectorOf(f32, lanes);
      llvm::Value *cW = ctx.load(t, f32, countW, ow);
      llvm::Value *cH = splat(ctx, ctx.load(f32, f32, countH, oh), lanes);
      llvm::Value *cnt = b.CreateFMul(cH, cW);
      llvm::Value *zeroV = llvm::Constant::getNullValue(t);
      return b.CreateSelect(b.CreateFCmpOEQ(cnt, zeroV), zeroV,
                            b.CreateFDiv(acc, cnt));
    };
  }
  emitWindowed(ctx, ctx.operandPtr(0), ctx.resultPtr(0), h, w, *pp,
               xt.shape[0] * xt.shape[1], 1, hooks);
  ctx.finish();
  return absl::OkStatus();
}

/// Depthwise conv (groups == C, one input channel per group, Cout = C *
/// mult): out[n, c*mult + j] = bias + sum_{kh,kw} w * x over the zero-padded
/// plane, vectorized over the output width.
absl::Status emitDepthwise(LoweringContext &ctx, const Axis &h, const Axis &w,
                           const PaddedPlane &pp, int64_t N, int64_t C,
                           int64_t mult, bool hasBias) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy();
  llvm::Value *wp = ctx.operandPtr(1);
  llvm::Value *bias = hasBias ? ctx.operandPtr(2) : nullptr;
  const int64_t KK = h.kernel * w.kernel;
  std::vector<llvm::Value *> weights(static_cast<size_t>(KK));
  llvm::Value *biasV = nullptr;
  WindowHooks hooks;
  hooks.fill = 0.0f;
  hooks.prologue = [&](llvm::Value *plane, llvm::Value *j) {
    llvm::Value *oc = b.CreateAdd(
        b.CreateMul(b.CreateURem(plane, ctx.i64(C)), ctx.i64(mult)), j);
    llvm::Value *wrow = at(ctx, wp, b.CreateMul(oc, ctx.i64(KK)));
    for (int64_t i = 0; i < KK; ++i)
      weights[i] = ctx.load(f32, f32, wrow, ctx.i64(i));
    biasV = hasBias ? ctx.load(f32, f32, bias, oc) : nullptr;
  };
  hooks.init = [&](int lanes) {
    return splat(ctx, biasV ? biasV : llvm::ConstantFP::get(f32, 0.0), lanes);
  };
  hooks.combine = [&](llvm::Value *acc, llvm::Value *v, int64_t kh, int64_t kw,
                      int lanes) -> llvm::Value * {
    llvm::Value *wv = splat(ctx, weights[kh * w.kernel + kw], lanes);
    return b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {v->getType()},
                             {v, wv, acc});
  };
  emitWindowed(ctx, ctx.operandPtr(0), ctx.resultPtr(0), h, w, pp, N * C, mult,
               hooks);
  ctx.finish();
  return absl::OkStatus();
}

} // namespace

absl::Status lowerConv2d(const Op &op, LoweringContext &ctx) {
  const TensorType &xt = op.operand(0)->type, &wt = op.operand(1)->type,
                   &rt = op.result(0)->type;
  if (!allF32(op) || xt.rank() != 4 || wt.rank() != 4 ||
      xt.numElements() == 0 || rt.numElements() == 0 || wt.numElements() == 0)
    return absl::UnimplementedError("'conv2d' is lowered for non-empty f32 only");
  std::vector<int64_t> s = intsOr(op, "strides", {1, 1}),
                       p = intsOr(op, "pads", {0, 0, 0, 0}),
                       d = intsOr(op, "dilations", {1, 1});
  int64_t groups = op.attrs.getInt("groups", 1);
  if (s.size() != 2 || p.size() != 4 || d.size() != 2 || groups < 1)
    return absl::UnimplementedError("conv2d attributes of unexpected size");
  const int64_t N = xt.shape[0], C = xt.shape[1], M = wt.shape[0],
                Cg = wt.shape[1];
  Axis h{xt.shape[2], rt.shape[2], wt.shape[2], s[0], p[0], p[2], d[0]};
  Axis w{xt.shape[3], rt.shape[3], wt.shape[3], s[1], p[1], p[3], d[1]};
  const int64_t Mg = M / groups, K = Cg * h.kernel * w.kernel,
                P = h.out * w.out, inPlane = h.in * w.in;
  const bool direct = h.kernel == 1 && w.kernel == 1 && s[0] == 1 &&
                      s[1] == 1 && p[0] == 0 && p[1] == 0 && p[2] == 0 &&
                      p[3] == 0;
  const bool hasBias = op.operand(2) != nullptr;
  if (groups == C && Cg == 1) {
    if (std::optional<PaddedPlane> pp = paddedPlane(h, w, ctx.vectorWidth()))
      return emitDepthwise(ctx, h, w, *pp, N, C, Mg, hasBias);
  }

  GemmShape gs;
  gs.M = Mg;
  gs.N = P;
  gs.K = K;
  GemmEpilogue e;
  if (hasBias)
    e.bias = GemmEpilogue::Bias::PerRow;
  // Convs of one shape share their GEMM kernel (ResNets repeat shapes; each
  // kernel costs compile time); its scratch size rides on an attribute.
  const std::string gemmName =
      "tcpu_conv_gemm_" + std::to_string(gs.M) + "x" + std::to_string(gs.N) +
      "x" + std::to_string(gs.K) + (hasBias ? "_bias" : "");
  llvm::Function *gemm = ctx.module().getFunction(gemmName);
  int64_t perThread = 0;
  if (gemm) {
    perThread = std::stoll(
        gemm->getFnAttribute("tcpu-scratch-bytes").getValueAsString().str());
  } else {
    absl::StatusOr<GemmKernel> kernel =
        emitGemmFunction(ctx.module(), ctx.target(), gs, e, gemmName);
    if (!kernel.ok())
      return kernel.status();
    gemm = kernel->function;
    perThread = kernel->scratchBytesPerThread;
    gemm->addFnAttr("tcpu-scratch-bytes", std::to_string(perThread));
  }

  llvm::IRBuilder<> &b = ctx.b();
  llvm::Value *x = ctx.operandPtr(0), *wp = ctx.operandPtr(1),
        *bias = hasBias ? ctx.operandPtr(2) : nullptr, *out = ctx.resultPtr(0);
  llvm::Value *null = llvm::ConstantPointerNull::get(b.getPtrTy());
  const int64_t colBytes = direct ? 0 : (K * P * 4 + 63) / 64 * 64;
  llvm::Value *col = null, *gemmScratch = null;
  if (colBytes > 0 || perThread > 0) {
    llvm::Value *bytes = ctx.i64(colBytes);
    if (perThread > 0) {
      llvm::Value *threads = b.CreateCall(
          ctx.module().getOrInsertFunction(
              "tcpu_num_threads", llvm::FunctionType::get(b.getInt64Ty(), false)),
          {});
      bytes = b.CreateAdd(bytes, b.CreateMul(threads, ctx.i64(perThread)));
    }
    llvm::Value *base = threadScratch(ctx, bytes);
    col = base;
    if (perThread > 0)
      gemmScratch = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), base, colBytes);
  }
  ctx.emitLoop(0, N, 1, [&](llvm::Value *n) {
    ctx.emitLoop(0, groups, 1, [&](llvm::Value *g) {
      llvm::Value *xg = at(ctx, x, b.CreateMul(b.CreateAdd(b.CreateMul(n, ctx.i64(C)),
                                                     b.CreateMul(g, ctx.i64(Cg))),
                                         ctx.i64(inPlane)));
      llvm::Value *wg = at(ctx, wp, b.CreateMul(g, ctx.i64(Mg * K)));
      llvm::Value *og = at(ctx, out, b.CreateMul(b.CreateAdd(b.CreateMul(n, ctx.i64(M)),
                                                       b.CreateMul(g, ctx.i64(Mg))),
                                           ctx.i64(P)));
      llvm::Value *bg = hasBias ? at(ctx, bias, b.CreateMul(g, ctx.i64(Mg))) : null;
      llvm::Value *B = xg;
      if (!direct) {
        emitIm2col(ctx, xg, col, Cg, h, w);
        B = col;
      }
      b.CreateCall(gemm, {wg, B, og, bg, null, gemmScratch});
    }, "g");
  }, "n");
  ctx.finish();
  return absl::OkStatus();
}

absl::Status lowerMaxPool2d(const Op &op, LoweringContext &ctx) {
  return lowerPool(op, ctx, true);
}

absl::Status lowerAvgPool2d(const Op &op, LoweringContext &ctx) {
  return lowerPool(op, ctx, false);
}

absl::Status lowerGlobalAvgPool(const Op &op, LoweringContext &ctx) {
  const TensorType &xt = op.operand(0)->type, &rt = op.result(0)->type;
  if (!allF32(op) || xt.rank() < 3 || rt.numElements() == 0)
    return absl::UnimplementedError(
        "'global_avg_pool' is lowered for non-empty f32 only");
  const int64_t planes = xt.shape[0] * xt.shape[1];
  int64_t size = 1;
  for (int i = 2; i < xt.rank(); ++i)
    size *= xt.shape[i];
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy();
  const int VW = ctx.vectorWidth();
  llvm::Type *vt = ctx.vectorOf(f32, VW);
  llvm::Value *x = ctx.operandPtr(0), *out = ctx.resultPtr(0);
  // Accumulators in entry-block allocas (promoted to registers).
  llvm::IRBuilder<> eb(&ctx.function()->getEntryBlock(),
                       ctx.function()->getEntryBlock().begin());
  llvm::Value *vacc = eb.CreateAlloca(vt);
  llvm::Value *sacc = eb.CreateAlloca(f32);
  const int64_t nv = VW > 1 ? size / VW * VW : 0;
  ctx.emitLoop(0, planes, 1, [&](llvm::Value *pl) {
    llvm::Value *in = at(ctx, x, b.CreateMul(pl, ctx.i64(size)));
    llvm::Value *total = llvm::ConstantFP::get(f32, 0.0);
    if (nv > 0) {
      b.CreateStore(llvm::Constant::getNullValue(vt), vacc);
      ctx.emitLoop(0, nv, VW, [&](llvm::Value *i) {
        b.CreateStore(b.CreateFAdd(b.CreateLoad(vt, vacc),
                                   ctx.load(vt, f32, in, i)),
                      vacc);
      }, "i");
      total = b.CreateFAddReduce(total, b.CreateLoad(vt, vacc));
    }
    b.CreateStore(total, sacc);
    ctx.emitLoop(nv, size, 1, [&](llvm::Value *i) {
      b.CreateStore(b.CreateFAdd(b.CreateLoad(f32, sacc),
                                 ctx.load(f32, f32, in, i)),
                    sacc);
    }, "r");
    llvm::Value *mean = b.CreateFDiv(b.CreateLoad(f32, sacc),
                               llvm::ConstantFP::get(f32, static_cast<double>(size)));
    ctx.store(mean, f32, out, pl);
  }, "plane");
  ctx.finish();
  return absl::OkStatus();
}

} // namespace tcpu
