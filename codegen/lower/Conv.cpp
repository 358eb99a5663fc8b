//===- Conv.cpp - Lowering of conv2d and the pools ---------------------------===//
//
// conv2d (NCHW): GEMMs from emitGemmFunction (codegen/Gemm.h),
//   out[Cout/g, OH*OW] = W[Cout/g, Cin/g*KH*KW] x col[Cin/g*KH*KW, OH*OW],
// with the bias as a per-row epilogue, where col is the im2col of the
// input group (window positions in the padding are 0). For f32, col never
// exists whole: each (image, group)'s columns are split into blocks whose
// K x NCB floats fill about half of L2, and each (image, group, block)
// task packs its block straight into the GEMM's B panels in its thread's
// scratch, then runs a single-threaded GEMM on them (emitPanelConv): the
// packed block stays in L2 for the GEMM instead of a 7 MB col going to
// memory and back twice. f16/bf16 build the whole col (widened to f32) in
// tcpu_thread_scratch memory, its rows split over threads, then run one
// GEMM per (image, group). Both im2col forms take the valid output range
// of each kernel position from small tables at run time, so the code does
// not grow with the kernel. A 1x1, stride-1, unpadded f32 conv uses the
// input itself as B. f32 constant weights are packed into the GEMM's A
// panels at compile time (each group's [Cout/g, K] separately). The scratch
// buffer also holds the GEMM's packing memory, so the GEMM never asks
// tcpu_thread_scratch itself (which would hand back the im2col buffer).
// Convs of one GEMM shape share one GEMM entry point (and shapes share its
// core, Gemm.cpp). Depthwise convs
// (groups == Cin, Cout = Cin * multiplier) are a direct kernel instead: the
// windowed scheme of the pools below with a multiply-add by the (splatted)
// weights. f16/bf16 run the same kernels on f32: im2col and the depthwise
// planes widen (exactly), weights and bias are widened once into scratch,
// and each GEMM result is rounded into the output (within an ulp of the
// reference's one rounding of a double sum). Integer convs (the reference
// wraps 64-bit sums and saturates the result) and empty inputs are a direct
// loop nest (rare: no fast path).
//
// max_pool2d (float and integer dtypes) / avg_pool2d (float dtypes): each
// input plane is copied into a padded plane (scratch memory, filled once
// per task with the lowest value for max and 0 for avg) that covers every
// window position, so windows need no bounds checks; planes are split over
// threads. Outputs are computed a vector of the output width at a time
// (strided windows load stride*W contiguous elements and pick every
// stride-th lane); the rest of a row in halving vectors (8, 4, 2 lanes), then
// scalars. Max keeps the reference's order
// and NaN rule (a NaN wins and stays); integers compare in their own type.
// avg divides the window sum (f32; double for f16/bf16, then one rounding)
// by the reference's count, which is separable: count(oh, ow) = countH[oh]
// * countW[ow]. f16/bf16 planes are widened to f32 (exact).
//
// global_avg_pool (float dtypes): planes split over threads, a vector sum
// per plane (f32, or double for f16/bf16), reduced, plus a scalar
// remainder, divided by the plane size (an empty plane gives NaN).
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "ir/IntMath.h"
#include "codegen/Lowering.h"
#include "codegen/lower/Epilogue.h"
#include "codegen/lower/LowPrecision.h"
#include "codegen/lower/Prepack.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Intrinsics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <tuple>
#include <vector>

namespace tcpu {

namespace {


/// Window geometry along one spatial axis (as in ir/ops/Conv.cpp).
struct Axis {
  int64_t in, out, kernel, stride, padBegin, padEnd, dilation;
  int64_t coord(int64_t o, int64_t k) const {
    return o * stride - padBegin + k * dilation;
  }
  /// Outputs [lo, hi) whose window position k falls inside the input.
  void validOutputs(int64_t k, int64_t &lo, int64_t &hi) const {
    std::tie(lo, hi) = outputsInside(in, out, stride, padBegin, k * dilation);
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

/// Indices of a parallel task worth a thread: about this many floats
/// written (im2col rows, pool outputs) or window terms computed.
constexpr int64_t kMinTaskWork = int64_t(1) << 15;

/// A <W x i1> mask of the lanes l with l < rem (rem an i64, may exceed W).
llvm::Value *lanesBelow(LoweringContext &ctx, llvm::Value *rem, int W) {
  llvm::IRBuilder<> &b = ctx.b();
  std::vector<llvm::Constant *> iota;
  for (int l = 0; l < W; ++l)
    iota.push_back(b.getInt32(l));
  llvm::Value *r = b.CreateTrunc(
      b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, rem, ctx.i64(W)),
      b.getInt32Ty());
  return b.CreateICmpSLT(llvm::ConstantVector::get(iota),
                         b.CreateVectorSplat(W, r));
}

/// dst[lo, hi) = 0 (runtime bounds), W lanes at a time under a mask.
void zeroRun(LoweringContext &ctx, llvm::Value *dst, llvm::Value *lo,
             llvm::Value *hi) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy();
  const int W = ctx.vectorWidth();
  if (W == 1) {
    ctx.emitLoop(lo, hi, 1, [&](llvm::Value *j) {
      ctx.store(llvm::ConstantFP::get(f32, 0.0), f32, dst, j);
    }, "z");
    return;
  }
  llvm::Type *vt = ctx.vectorOf(f32, W);
  ctx.emitLoop(lo, hi, W, [&](llvm::Value *j) {
    b.CreateMaskedStore(llvm::Constant::getNullValue(vt), at(ctx, dst, j),
                        llvm::Align(4), lanesBelow(ctx, b.CreateSub(hi, j), W));
  }, "z");
}

/// dst[j] = src[j * stride] for j in [lo, hi) (runtime bounds), dst f32
/// and src of float dtype `from` (f16/bf16 widened exactly). Vectors under a
/// mask, so no element outside the range is touched; strides up to 4 load
/// stride * W contiguous elements and keep every stride-th lane.
void copyRun(LoweringContext &ctx, llvm::Value *dst, llvm::Value *src,
             int64_t stride, llvm::Value *lo, llvm::Value *hi,
             DType from = DType::F32, llvm::Value *runtimeStride = nullptr) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy();
  llvm::Type *se = lowp::storageType(ctx, from);
  const llvm::Align sa(lowp::isHalf(from) ? 2 : 4);
  auto widen = [&](llvm::Value *v) {
    return lowp::isHalf(from) ? lowp::widen(b, v, from) : v;
  };
  const int W = ctx.vectorWidth();
  if (W == 1 || stride > 4 || runtimeStride) {
    llvm::Value *st = runtimeStride ? runtimeStride : ctx.i64(stride);
    ctx.emitLoop(lo, hi, 1, [&](llvm::Value *j) {
      ctx.store(lowp::loadF32(ctx, from, 1, src, b.CreateMul(j, st)), f32, dst, j);
    }, "c");
    return;
  }
  llvm::Type *vt = ctx.vectorOf(se, W);
  ctx.emitLoop(lo, hi, W, [&](llvm::Value *j) {
    llvm::Value *rem = b.CreateSub(hi, j);
    llvm::Value *mask = lanesBelow(ctx, rem, W);
    llvm::Value *v;
    if (stride == 1) {
      v = widen(b.CreateMaskedLoad(vt, b.CreateGEP(se, src, j), sa, mask,
                                   llvm::Constant::getNullValue(vt)));
    } else {
      // Lanes up to the last element needed: (min(rem, W) - 1) * stride.
      const int S = static_cast<int>(stride);
      llvm::Value *n = b.CreateAdd(
          b.CreateMul(b.CreateSub(b.CreateBinaryIntrinsic(
                                      llvm::Intrinsic::smin, rem, ctx.i64(W)),
                                  ctx.i64(1)),
                      ctx.i64(stride)),
          ctx.i64(1));
      llvm::Type *wide = ctx.vectorOf(se, W * S);
      llvm::Value *all = b.CreateMaskedLoad(
          wide, b.CreateGEP(se, src, b.CreateMul(j, ctx.i64(stride))), sa,
          lanesBelow(ctx, n, W * S), llvm::Constant::getNullValue(wide));
      std::vector<int> pick;
      for (int l = 0; l < W; ++l)
        pick.push_back(l * S);
      v = widen(b.CreateShuffleVector(all, pick));
    }
    b.CreateMaskedStore(v, at(ctx, dst, j), llvm::Align(4), mask);
  }, "c");
}

/// A private constant array of i64.
llvm::Value *constInts(LoweringContext &ctx, const std::vector<int64_t> &values,
                       const std::string &name) {
  std::vector<uint64_t> u(values.begin(), values.end());
  llvm::Constant *init = llvm::ConstantDataArray::get(ctx.llvm(), u);
  return new llvm::GlobalVariable(ctx.module(), init->getType(), true,
                                  llvm::GlobalValue::PrivateLinkage, init,
                                  "tcpu.conv." + name);
}

/// The geometry of one im2col, the table its call passes to the shared
/// row function: fixed fields, then [lo, hi) of the valid outputs per kernel
/// row (KH pairs) and per kernel column (KW pairs).
/// kRows, kKC and kNR are used by the panel form (im2colPanels) only.
enum Im2colField : unsigned {
  kKK, kKW, kKH, kInPlane, kWin, kP, kOW, kSH, kSW, kDH, kDW, kPH, kPW,
  kRows, kKC, kNR, kIm2colFields
};

/// The geometry table of an im2col loaded in function `fc`, and what row
/// r = (ic, kh, kw) of col needs: the input channel, the valid outputs
/// [ohLo, ohHi) x [owLo, owHi) of kernel position (kh, kw), and the input
/// offsets ih = oh*sh + ihOff, iw = ow*sw + iwOff.
struct Im2colGeometry {
  struct Row {
    llvm::Value *ic, *ohLo, *ohHi, *owLo, *owHi, *ihOff, *iwOff;
  };
  LoweringContext &fc;
  llvm::Value *table;
  llvm::Value *fields[kIm2colFields];

  Im2colGeometry(LoweringContext &fc, llvm::Value *table)
      : fc(fc), table(table) {
    for (unsigned i = 0; i < kIm2colFields; ++i)
      fields[i] = field(fc.i64(i));
  }
  llvm::Value *operator[](Im2colField f) const { return fields[f]; }
  llvm::Value *field(llvm::Value *i) {
    llvm::Type *i64 = fc.b().getInt64Ty();
    return fc.load(i64, i64, table, i);
  }
  Row row(llvm::Value *r) {
    llvm::IRBuilder<> &b = fc.b();
    llvm::Value *kk = b.CreateURem(r, fields[kKK]);
    llvm::Value *kh = b.CreateUDiv(kk, fields[kKW]);
    llvm::Value *kw = b.CreateURem(kk, fields[kKW]);
    // [lo, hi) pairs: KH of them after the fields, then KW.
    auto entry = [&](llvm::Value *at, llvm::Value *k, int which) {
      return field(b.CreateAdd(
          at, b.CreateAdd(b.CreateMul(k, fc.i64(2)), fc.i64(which))));
    };
    llvm::Value *hTable = fc.i64(kIm2colFields);
    llvm::Value *wTable =
        b.CreateAdd(hTable, b.CreateMul(fields[kKH], fc.i64(2)));
    return {b.CreateUDiv(r, fields[kKK]),
            entry(hTable, kh, 0),
            entry(hTable, kh, 1),
            entry(wTable, kw, 0),
            entry(wTable, kw, 1),
            b.CreateSub(b.CreateMul(kh, fields[kDH]), fields[kPH]),
            b.CreateSub(b.CreateMul(kw, fields[kDW]), fields[kPW])};
  }
};

/// `i32 tcpu.im2col.<dtype>.s<S>(ptr args)`, args = {table, x, col, range}
/// (range: {first, last} i64): rows [first, last) of col for the geometry
/// in the table. One function per dtype and column-stride class (1..4 with
/// vector copies, 0: any, scalar), shared by every conv of the module; it
/// has a kernel's calling convention so a LoweringContext can build it.
llvm::Function *im2colRows(LoweringContext &ctx, DType dt, int64_t stride) {
  const int64_t S = ctx.vectorWidth() > 1 && stride <= 4 ? stride : 0;
  const std::string name = "tcpu.im2col." + std::string(dtypeName(dt)) + ".s" +
                           std::to_string(S);
  if (llvm::Function *f = ctx.module().getFunction(name))
    return f;
  LoweringContext fc(ctx.module(), ctx.target(), ctx.op(), name);
  fc.function()->setLinkage(llvm::GlobalValue::InternalLinkage);
  llvm::IRBuilder<> &b = fc.b();
  llvm::Type *i64 = b.getInt64Ty(), *se = lowp::storageType(fc, dt);
  llvm::Value *x = fc.operandPtr(1), *c = fc.operandPtr(2),
              *range = fc.operandPtr(3);
  Im2colGeometry geo(fc, fc.operandPtr(0));
  llvm::Value *inPlane = geo[kInPlane], *Win = geo[kWin], *P = geo[kP],
              *OW = geo[kOW], *sh = geo[kSH], *sw = geo[kSW];
  llvm::Value *first = fc.load(i64, i64, range, fc.i64(0)),
              *last = fc.load(i64, i64, range, fc.i64(1));
  fc.emitLoop(first, last, 1, [&](llvm::Value *r) {
    auto [ic, ohLo, ohHi, owLo, owHi, ihOff, iwOff] = geo.row(r);
    llvm::Value *src = b.CreateGEP(se, x, b.CreateMul(ic, inPlane));
    llvm::Value *row = at(fc, c, b.CreateMul(r, P));
    // Output rows whose window row kh lies in the padding.
    zeroRun(fc, row, fc.i64(0), b.CreateMul(ohLo, OW));
    zeroRun(fc, row, b.CreateMul(ohHi, OW), P);
    // x[ih, iw] with ih = oh*sh + kh*dh - ph, iw = ow*sw + kw*dw - pw.
    fc.emitLoop(ohLo, ohHi, 1, [&](llvm::Value *oh) {
      llvm::Value *dst = at(fc, row, b.CreateMul(oh, OW));
      llvm::Value *ih = b.CreateAdd(b.CreateMul(oh, sh), ihOff);
      llvm::Value *srcRow =
          b.CreateGEP(se, src, b.CreateAdd(b.CreateMul(ih, Win), iwOff));
      zeroRun(fc, dst, fc.i64(0), owLo);
      zeroRun(fc, dst, owHi, OW);
      copyRun(fc, dst, srcRow, S, owLo, owHi, dt, S == 0 ? sw : nullptr);
    }, "oh");
  }, "row");
  fc.finish();
  return fc.function();
}

/// The geometry table of an im2col of Cg channels (Im2colField, then the
/// valid output ranges per kernel row and column); KC and NR are the GEMM
/// blocking of the panel form (0 for rows).
llvm::Value *im2colTable(LoweringContext &ctx, int64_t Cg, const Axis &h,
                         const Axis &w, int64_t KC, int64_t NR) {
  const int64_t P = h.out * w.out, inPlane = h.in * w.in;
  const int64_t KK = h.kernel * w.kernel;
  std::vector<int64_t> geometry(kIm2colFields);
  geometry[kKK] = KK;
  geometry[kKW] = w.kernel;
  geometry[kKH] = h.kernel;
  geometry[kInPlane] = inPlane;
  geometry[kWin] = w.in;
  geometry[kP] = P;
  geometry[kOW] = w.out;
  geometry[kSH] = h.stride;
  geometry[kSW] = w.stride;
  geometry[kDH] = h.dilation;
  geometry[kDW] = w.dilation;
  geometry[kPH] = h.padBegin;
  geometry[kPW] = w.padBegin;
  geometry[kRows] = Cg * KK;
  geometry[kKC] = KC;
  geometry[kNR] = NR;
  for (const Axis *a : {&h, &w})
    for (int64_t k = 0; k < a->kernel; ++k) {
      int64_t lo, hi;
      a->validOutputs(k, lo, hi);
      geometry.push_back(lo);
      geometry.push_back(hi);
    }
  return constInts(ctx, geometry, "im2col");
}

/// `i32 tcpu.im2col.panels.s<S>(ptr args)`, args = {table, x, dst, tmp,
/// range} (range: {p0, nb} i64): columns [p0, p0 + nb) of col for the
/// geometry in the table, written to dst as the GEMM's packed B of a
/// [rows, nb] matrix (Gemm.h prepackB: per K block of KC rows, panels of
/// NR columns, zero past nb). Each row of the block is first built in tmp
/// (roundUp(nb, NR) floats, in L1) with the row logic of im2colRows, then
/// copied to its panels, NR floats each. Shared like im2colRows.
llvm::Function *im2colPanels(LoweringContext &ctx, int64_t stride) {
  const int64_t S = ctx.vectorWidth() > 1 && stride <= 4 ? stride : 0;
  const std::string name = "tcpu.im2col.panels.s" + std::to_string(S);
  if (llvm::Function *f = ctx.module().getFunction(name))
    return f;
  LoweringContext fc(ctx.module(), ctx.target(), ctx.op(), name);
  fc.function()->setLinkage(llvm::GlobalValue::InternalLinkage);
  llvm::IRBuilder<> &b = fc.b();
  llvm::Type *i64 = b.getInt64Ty(), *f32 = b.getFloatTy();
  llvm::Value *x = fc.operandPtr(1), *dst = fc.operandPtr(2),
              *tmp = fc.operandPtr(3), *range = fc.operandPtr(4);
  Im2colGeometry geo(fc, fc.operandPtr(0));
  llvm::Value *inPlane = geo[kInPlane], *Win = geo[kWin], *OW = geo[kOW],
              *sh = geo[kSH], *sw = geo[kSW], *rows = geo[kRows],
              *KC = geo[kKC], *NR = geo[kNR];
  llvm::Value *p0 = fc.load(i64, i64, range, fc.i64(0)),
              *nb = fc.load(i64, i64, range, fc.i64(1));
  auto smin = [&](llvm::Value *a, llvm::Value *c) {
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, a, c);
  };
  auto smax = [&](llvm::Value *a, llvm::Value *c) {
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, a, c);
  };
  // Npad = roundUp(nb, NR); tmp's tail [nb, Npad) is the panels' zero
  // padding, never written by the rows.
  llvm::Value *Npad =
      b.CreateMul(b.CreateUDiv(b.CreateAdd(nb, b.CreateSub(NR, fc.i64(1))), NR),
                  NR);
  zeroRun(fc, tmp, nb, Npad);
  // Output rows of the block: [p0 / OW, (p0 + nb - 1) / OW].
  llvm::Value *firstOh = b.CreateUDiv(p0, OW);
  llvm::Value *endOh = b.CreateAdd(
      b.CreateUDiv(b.CreateSub(b.CreateAdd(p0, nb), fc.i64(1)), OW), fc.i64(1));
  const int W = fc.vectorWidth();
  llvm::Type *vt = W > 1 ? fc.vectorOf(f32, W) : f32;
  fc.emitLoop(fc.i64(0), rows, 1, [&](llvm::Value *r) {
    auto [ic, ohLo, ohHi, owLo, owHi, ihOff, iwOff] = geo.row(r);
    llvm::Value *src = at(fc, x, b.CreateMul(ic, inPlane));
    // Pixels whose window row kh lies in the padding (ohLo*OW - p0 etc.
    // clamped to the block).
    auto local = [&](llvm::Value *oh) {
      return smin(smax(b.CreateSub(b.CreateMul(oh, OW), p0), fc.i64(0)), nb);
    };
    zeroRun(fc, tmp, fc.i64(0), local(ohLo));
    zeroRun(fc, tmp, local(ohHi), nb);
    llvm::Value *ohBegin = smax(ohLo, firstOh), *ohEnd = smin(ohHi, endOh);
    fc.emitLoop(ohBegin, ohEnd, 1, [&](llvm::Value *oh) {
      // tmp[rowStart + ow] is output (oh, ow); this block holds ow in [a, e).
      llvm::Value *rowStart = b.CreateSub(b.CreateMul(oh, OW), p0);
      llvm::Value *a = smax(fc.i64(0), b.CreateNeg(rowStart));
      llvm::Value *e = smin(OW, b.CreateSub(nb, rowStart));
      llvm::Value *d = at(fc, tmp, rowStart);
      llvm::Value *ih = b.CreateAdd(b.CreateMul(oh, sh), ihOff);
      llvm::Value *srcRow =
          at(fc, src, b.CreateAdd(b.CreateMul(ih, Win), iwOff));
      zeroRun(fc, d, a, smin(e, owLo));
      zeroRun(fc, d, smax(a, owHi), e);
      copyRun(fc, d, srcRow, S, smax(a, owLo), smin(e, owHi), DType::F32,
              S == 0 ? sw : nullptr);
    }, "oh");
    // Row r is row k of K block pc: panel j (of NR columns) at j * kc.
    llvm::Value *pc = b.CreateMul(b.CreateUDiv(r, KC), KC);
    llvm::Value *kc = smin(KC, b.CreateSub(rows, pc));
    llvm::Value *rowDst = at(
        fc, dst, b.CreateAdd(b.CreateMul(pc, Npad),
                             b.CreateMul(b.CreateSub(r, pc), NR)));
    fc.emitLoop(fc.i64(0), Npad, W, [&](llvm::Value *j) {
      // j / NR * NR * kc + j % NR: a vector never crosses a panel (NR is a
      // multiple of W).
      llvm::Value *jr = b.CreateURem(j, NR);
      llvm::Value *o = b.CreateAdd(b.CreateMul(b.CreateSub(j, jr), kc), jr);
      fc.store(fc.load(vt, f32, tmp, j), f32, rowDst, o);
    }, "panel");
  }, "row");
  fc.finish();
  return fc.function();
}

/// Calls a function of the kernel calling convention (im2colRows,
/// im2colPanels) with the pointers `ptrs` followed by a pointer to the i64
/// values `ints`, through entry-block arrays.
void callWithArgs(LoweringContext &ctx, llvm::Function *fn,
                  std::vector<llvm::Value *> ptrs,
                  const std::vector<llvm::Value *> &ints) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *ptrTy = b.getPtrTy(), *i64 = b.getInt64Ty();
  llvm::AllocaInst *args, *values;
  {
    llvm::BasicBlock &e = ctx.function()->getEntryBlock();
    llvm::IRBuilder<> eb(&e, e.begin());
    args = eb.CreateAlloca(llvm::ArrayType::get(ptrTy, ptrs.size() + 1));
    values = eb.CreateAlloca(llvm::ArrayType::get(i64, ints.size()));
  }
  for (size_t i = 0; i < ints.size(); ++i)
    ctx.store(ints[i], i64, values, ctx.i64(static_cast<int64_t>(i)));
  ptrs.push_back(values);
  for (size_t i = 0; i < ptrs.size(); ++i)
    ctx.store(ptrs[i], ptrTy, args, ctx.i64(static_cast<int64_t>(i)));
  b.CreateCall(fn, {args});
}

/// col[(ic, kh, kw), (oh, ow)] = x[ic, ih, iw] (0 in the padding) for the
/// Cg channels at `xg`: one row of col per (ic, kh, kw), rows split over
/// threads, each task a call of the module's shared row function with this
/// conv's geometry table (the loops take their bounds from it at run time,
/// so no code is emitted per conv or per kernel position).
void emitIm2col(LoweringContext &ctx, llvm::Value *xg, llvm::Value *col,
                int64_t Cg, const Axis &h, const Axis &w,
                DType dt = DType::F32) {
  const int64_t P = h.out * w.out, rows = Cg * h.kernel * w.kernel;
  llvm::Value *table = im2colTable(ctx, Cg, h, w, 0, 0);
  llvm::Function *fn = im2colRows(ctx, dt, w.stride);
  std::vector<llvm::Value *> captured = {xg, col};
  ctx.emitParallelFor(rows, ceilDiv(kMinTaskWork, P), captured,
                      [&](llvm::Value *first, llvm::Value *last) {
    callWithArgs(ctx, fn, {table, captured[0], captured[1]}, {first, last});
  });
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
  /// x and the output are of dtype dt; the padded plane holds elements of
  /// `elem` (f32 for float dtypes, widened; the integer type itself).
  DType dt = DType::F32;
  llvm::Type *elem = nullptr;
  llvm::Constant *fill = nullptr; // the padding value (of elem)
  /// Called once per output plane j of input plane `plane`, before its rows.
  std::function<void(llvm::Value *plane, llvm::Value *j)> prologue;
  /// The starting accumulator of `lanes` lanes.
  std::function<llvm::Value *(int lanes)> init;
  /// acc combined with the window values v at position (kh, kw).
  std::function<llvm::Value *(llvm::Value *acc, llvm::Value *v, int64_t kh,
                              int64_t kw, int lanes)>
      combine;
  /// The value stored for outputs (oh, ow .. ow + lanes), of elem (f32
  /// for f16/bf16, rounded to nearest even when stored); null = acc.
  std::function<llvm::Value *(llvm::Value *acc, llvm::Value *oh,
                              llvm::Value *ow, int lanes)>
      finish;
};

/// For each of `planes` input planes of x: copy it into the padded plane,
/// then for each of its `outsPerPlane` output planes (output plane
/// plane * outsPerPlane + j) compute every output from its window. Planes
/// are split over threads, each task with a padded plane of its own
/// (tcpu_thread_scratch): values[0] is x, values[1] out, the rest whatever
/// the hooks need (emitParallelFor's captured values: the hooks read them
/// from `values` while they emit).
void emitWindowed(LoweringContext &ctx, std::vector<llvm::Value *> &values,
                  const Axis &h, const Axis &w, const PaddedPlane &pp,
                  int64_t planes, int64_t outsPerPlane, const WindowHooks &k) {
  const int64_t work = pp.Hp * pp.Wp +
                       outsPerPlane * h.out * w.out * h.kernel * w.kernel;
  ctx.emitParallelFor(planes, ceilDiv(kMinTaskWork, work), values,
                      [&](llvm::Value *first, llvm::Value *last) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *elem = k.elem, *se = lowp::storageType(ctx, k.dt);
  const int64_t elemBytes =
      static_cast<int64_t>(ctx.module().getDataLayout().getTypeAllocSize(elem));
  llvm::Value *x = values[0], *out = values[1];
  const int VW = ctx.vectorWidth();
  const int64_t Hp = pp.Hp, Wp = pp.Wp;
  llvm::Value *buf = threadScratch(ctx, ctx.i64(Hp * Wp * elemBytes));
  // Fill once per task: the interior is rewritten per plane, the border
  // never.
  if (!k.fill->isNullValue()) {
    int64_t n = Hp * Wp, nv = VW > 1 ? n / VW * VW : 0;
    ctx.emitLoop(0, nv, VW, [&](llvm::Value *i) {
      ctx.store(b.CreateVectorSplat(VW, k.fill), elem, buf, i);
    }, "fill");
    ctx.emitLoop(nv, n, 1, [&](llvm::Value *i) {
      ctx.store(k.fill, elem, buf, i);
    }, "fillr");
  } else {
    b.CreateMemSet(buf, b.getInt8(0), Hp * Wp * elemBytes, llvm::MaybeAlign(4));
  }

  // The accumulated window for `lanes` outputs starting at output column
  // ow of the padded row at rowBase.
  auto window = [&](llvm::Value *rowBase, llvm::Value *ow,
                    int lanes) -> llvm::Value * {
    llvm::Type *t = ctx.vectorOf(elem, lanes);
    llvm::Value *acc = k.init(lanes);
    llvm::Value *first = b.CreateMul(ow, ctx.i64(w.stride));
    for (int64_t kh = 0; kh < h.kernel; ++kh)
      for (int64_t kw = 0; kw < w.kernel; ++kw) {
        llvm::Value *idx = b.CreateAdd(
            first, ctx.i64(kh * h.dilation * Wp + kw * w.dilation));
        llvm::Value *v;
        if (lanes == 1 || w.stride == 1) {
          v = ctx.load(t, elem, rowBase, idx);
        } else if (pp.wideLoad) {
          llvm::Value *wide = ctx.load(ctx.vectorOf(elem, lanes * w.stride),
                                       elem, rowBase, idx);
          std::vector<int> mask;
          for (int l = 0; l < lanes; ++l)
            mask.push_back(l * static_cast<int>(w.stride));
          v = b.CreateShuffleVector(wide, mask);
        } else {
          v = llvm::PoisonValue::get(t);
          for (int l = 0; l < lanes; ++l)
            v = b.CreateInsertElement(
                v,
                ctx.load(elem, elem, rowBase,
                         b.CreateAdd(idx, ctx.i64(l * w.stride))),
                static_cast<uint64_t>(l));
        }
        acc = k.combine(acc, v, kh, kw, lanes);
      }
    return acc;
  };

  ctx.emitLoop(first, last, 1, [&](llvm::Value *pl) {
    llvm::Value *in = b.CreateGEP(se, x, b.CreateMul(pl, ctx.i64(h.in * w.in)));
    ctx.emitLoop(0, pp.rows, 1, [&](llvm::Value *ih) {
      llvm::Value *dst = b.CreateGEP(
          elem, buf,
          b.CreateAdd(b.CreateMul(ih, ctx.i64(Wp)),
                      ctx.i64(h.padBegin * Wp + w.padBegin)));
      llvm::Value *src = b.CreateGEP(se, in, b.CreateMul(ih, ctx.i64(w.in)));
      if (lowp::isHalf(k.dt))
        copyRun(ctx, dst, src, 1, ctx.i64(0), ctx.i64(pp.cols), k.dt);
      else
        b.CreateMemCpy(dst, llvm::MaybeAlign(1), src, llvm::MaybeAlign(1),
                       pp.cols * elemBytes);
    }, "ih");
    ctx.emitLoop(0, outsPerPlane, 1, [&](llvm::Value *j) {
      if (k.prologue)
        k.prologue(pl, j);
      llvm::Value *o = b.CreateGEP(
          se, out,
          b.CreateMul(b.CreateAdd(b.CreateMul(pl, ctx.i64(outsPerPlane)), j),
                      ctx.i64(h.out * w.out)));
      ctx.emitLoop(0, h.out, 1, [&](llvm::Value *oh) {
        llvm::Value *rowBase =
            b.CreateGEP(elem, buf, b.CreateMul(oh, ctx.i64(h.stride * Wp)));
        llvm::Value *orow = b.CreateGEP(se, o, b.CreateMul(oh, ctx.i64(w.out)));
        auto emit = [&](llvm::Value *ow, int lanes) {
          llvm::Value *acc = window(rowBase, ow, lanes);
          if (k.finish)
            acc = k.finish(acc, oh, ow, lanes);
          if (lowp::isHalf(k.dt))
            lowp::storeF32(ctx, k.dt, acc, orow, ow);
          else
            ctx.store(acc, elem, orow, ow);
        };
        int64_t nv = VW > 1 ? w.out / VW * VW : 0;
        ctx.emitLoop(0, nv, VW, [&](llvm::Value *ow) { emit(ow, VW); }, "ow");
        // The rest in halving vectors (28 = 16 + 8 + 4 at 16 lanes), not
        // one output at a time: MobileNet's 28-, 14- and 7-wide rows are
        // mostly remainder.
        for (int lanes = VW / 2; lanes >= 2; lanes /= 2)
          if (w.out - nv >= lanes) {
            emit(ctx.i64(nv), lanes);
            nv += lanes;
          }
        ctx.emitLoop(nv, w.out, 1, [&](llvm::Value *ow) { emit(ow, 1); }, "owr");
      }, "oh");
    }, "j");
  }, "plane");
  });
}

llvm::Value *splat(LoweringContext &ctx, llvm::Value *scalar, int lanes) {
  return lanes == 1 ? scalar : ctx.b().CreateVectorSplat(lanes, scalar);
}

/// Fills the output with `value` (every window lies in the padding).
absl::Status emitFill(LoweringContext &ctx, DType dt, int64_t n,
                      llvm::Constant *value) {
  llvm::Type *se = lowp::storageType(ctx, dt);
  llvm::Value *out = ctx.resultPtr(0);
  ctx.emitLoop(0, n, 1, [&](llvm::Value *i) {
    if (lowp::isHalf(dt))
      lowp::storeF32(ctx, dt, value, out, i);
    else
      ctx.store(value, se, out, i);
  }, "fill");
  ctx.finish();
  return absl::OkStatus();
}

/// max_pool2d (float and integer dtypes) and avg_pool2d (float dtypes).
/// Floats run on f32 planes (f16/bf16 widened exactly); max is exact in any
/// dtype; avg sums f32 in f32 and f16/bf16 in double (then one rounding, as
/// the reference); integers compare as their own type.
absl::Status lowerPool(const Op &op, LoweringContext &ctx, bool isMax) {
  const TensorType &xt = op.operand(0)->type, &rt = op.result(0)->type;
  const DType dt = xt.dtype;
  const bool isInt = isInteger(dt), half = lowp::isHalf(dt);
  if (xt.rank() != 4 || (!isFloat(dt) && !(isMax && isInt)))
    return absl::UnimplementedError("'" + std::string(op.mnemonic()) +
                                    "' of " + xt.str() + " is not lowered");
  if (rt.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  std::vector<int64_t> k = op.attrs.getInts("kernel"),
                       s = intsOr(op, "strides", {1, 1}),
                       p = intsOr(op, "pads", {0, 0, 0, 0}),
                       d = intsOr(op, "dilations", {1, 1});
  if (k.size() != 2 || s.size() != 2 || p.size() != 4 || d.size() != 2)
    return absl::UnimplementedError("pool attributes of unexpected size");
  bool includePad = op.attrs.getInt("count_include_pad", 0) != 0;
  Axis h{xt.shape[2], rt.shape[2], k[0], s[0], p[0], p[2], d[0]};
  Axis w{xt.shape[3], rt.shape[3], k[1], s[1], p[1], p[3], d[1]};
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy(), *f64 = b.getDoubleTy();
  llvm::Type *elem = isInt ? lowp::storageType(ctx, dt) : f32;
  // Max: the lowest value (what the reference gives a window with no
  // position in the input: -inf, or the dtype's minimum); avg: 0.
  llvm::Constant *fill = llvm::Constant::getNullValue(elem);
  if (isMax && !isInt)
    fill = llvm::ConstantFP::getInfinity(f32, /*Negative=*/true);
  if (isMax && isInt)
    fill = llvm::ConstantInt::get(
        elem, dt == DType::U8 ? 0 : llvm::APInt::getSignedMinValue(
                                        elem->getIntegerBitWidth()).getSExtValue());
  std::optional<PaddedPlane> pp = paddedPlane(h, w, ctx.vectorWidth());
  if (!pp || xt.numElements() == 0) // no window reaches the input
    return emitFill(ctx, dt, rt.numElements(), fill);

  const bool wideAcc = !isMax && half; // f16/bf16 averages sum in double
  WindowHooks hooks;
  hooks.dt = dt;
  hooks.elem = elem;
  hooks.fill = fill;
  hooks.init = [&](int lanes) -> llvm::Value * {
    if (wideAcc)
      return llvm::Constant::getNullValue(ctx.vectorOf(f64, lanes));
    return splat(ctx, fill, lanes);
  };
  hooks.combine = [&](llvm::Value *acc, llvm::Value *v, int64_t, int64_t,
                      int lanes) -> llvm::Value * {
    if (!isMax)
      return b.CreateFAdd(acc, wideAcc ? b.CreateFPExt(v, ctx.vectorOf(f64, lanes))
                                       : v);
    if (isInt)
      return b.CreateBinaryIntrinsic(dt == DType::U8 ? llvm::Intrinsic::umax
                                                     : llvm::Intrinsic::smax,
                                     acc, v);
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
      if (wideAcc)
        cnt = b.CreateFPExt(cnt, acc->getType());
      llvm::Value *zeroV = llvm::Constant::getNullValue(cnt->getType());
      llvm::Value *mean = b.CreateSelect(b.CreateFCmpOEQ(cnt, zeroV), zeroV,
                                         b.CreateFDiv(acc, cnt));
      return wideAcc ? lowp::roundForStore(b, mean, dt) : mean;
    };
  }
  std::vector<llvm::Value *> values = {ctx.operandPtr(0), ctx.resultPtr(0)};
  emitWindowed(ctx, values, h, w, *pp, xt.shape[0] * xt.shape[1], 1, hooks);
  ctx.finish();
  return absl::OkStatus();
}

/// Depthwise conv (groups == C, one input channel per group, Cout = C *
/// mult): out[n, c*mult + j] = bias + sum_{kh,kw} w * x over the zero-padded
/// plane, vectorized over the output width.
absl::Status emitDepthwise(LoweringContext &ctx, const Axis &h, const Axis &w,
                           const PaddedPlane &pp, int64_t N, int64_t C,
                           int64_t mult, bool hasBias, DType dt,
                           const ConvEpilogue *epi = nullptr) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy();
  auto operandPtr = [&](int i) {
    return ctx.operandPtr(epi ? epi->operands[i] : i);
  };
  // x, out, weights[, bias]: read in the parallel body through `values`.
  std::vector<llvm::Value *> values = {operandPtr(0), ctx.resultPtr(0),
                                       operandPtr(1)};
  if (hasBias)
    values.push_back(operandPtr(2));
  llvm::Value *oc = nullptr, *epiData = nullptr;
  const int64_t KK = h.kernel * w.kernel;
  std::vector<llvm::Value *> weights(static_cast<size_t>(KK));
  llvm::Value *biasV = nullptr;
  WindowHooks hooks;
  hooks.dt = dt; // f32, or f16/bf16 widened to f32
  hooks.elem = f32;
  hooks.fill = llvm::ConstantFP::get(f32, 0.0);
  hooks.prologue = [&](llvm::Value *plane, llvm::Value *j) {
    oc = b.CreateAdd(
        b.CreateMul(b.CreateURem(plane, ctx.i64(C)), ctx.i64(mult)), j);
    if (epi)
      epiData = epi->prepare(b.CreateUDiv(plane, ctx.i64(C)), ctx.i64(0),
                              ctx.i64(0));
    llvm::Value *wrow = b.CreateGEP(lowp::storageType(ctx, dt), values[2],
                                    b.CreateMul(oc, ctx.i64(KK)));
    for (int64_t i = 0; i < KK; ++i)
      weights[i] = lowp::loadF32(ctx, dt, 1, wrow, ctx.i64(i));
    biasV = hasBias ? lowp::loadF32(ctx, dt, 1, values[3], oc) : nullptr;
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
  if (epi)
    hooks.finish = [&](llvm::Value *acc, llvm::Value *oh, llvm::Value *ow,
                       int lanes) {
      llvm::Value *pixel = b.CreateAdd(b.CreateMul(oh, ctx.i64(w.out)), ow);
      return epi->apply(b, acc, oc, pixel, nullptr, epiData);
    };
  emitWindowed(ctx, values, h, w, pp, N * C, mult, hooks);
  ctx.finish();
  return absl::OkStatus();
}

} // namespace

namespace {

/// dst[0, n) (f32) = src[0, n) of f16/bf16 dtype `dt`, widened exactly.
void widenInto(LoweringContext &ctx, llvm::Value *dst, llvm::Value *src,
               int64_t n, DType dt) {
  copyRun(ctx, dst, src, 1, ctx.i64(0), ctx.i64(n), dt);
}

/// dst[0, n) (f16/bf16 dtype `dt`) = src[0, n) (f32), rounded to nearest
/// even: the f32 sum rounded once more (within an ulp of the reference's
/// double sum rounded once).
void narrowInto(LoweringContext &ctx, llvm::Value *dst, llvm::Value *src,
                int64_t n, DType dt) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy();
  const int W = ctx.vectorWidth();
  const int64_t nv = W > 1 ? n / W * W : 0;
  auto part = [&](llvm::Value *i, int lanes) {
    lowp::storeF32(ctx, dt, ctx.load(ctx.vectorOf(f32, lanes), f32, src, i),
                   dst, i);
  };
  ctx.emitLoop(0, nv, W, [&](llvm::Value *i) { part(i, W); }, "narrow");
  ctx.emitLoop(nv, n, 1, [&](llvm::Value *i) { part(i, 1); }, "narrowr");
}

/// conv2d as a direct loop nest, one output at a time: integer dtypes
/// (the reference's arithmetic: products and sums wrapping in 64 bits, the
/// result saturated to the dtype) and empty inputs or kernels (the output
/// is the bias, or 0). Positions in the padding are skipped.
absl::Status emitDirectConv(const Op &op, LoweringContext &ctx) {
  const TensorType &xt = op.operand(0)->type, &wt = op.operand(1)->type,
                   &rt = op.result(0)->type;
  const DType dt = xt.dtype;
  const bool isInt = isInteger(dt), isSigned = dt != DType::U8;
  std::vector<int64_t> s = intsOr(op, "strides", {1, 1}),
                       p = intsOr(op, "pads", {0, 0, 0, 0}),
                       d = intsOr(op, "dilations", {1, 1});
  const int64_t groups = op.attrs.getInt("groups", 1);
  const int64_t N = xt.shape[0], C = xt.shape[1], M = wt.shape[0],
                Cg = wt.shape[1], Mg = M / groups;
  Axis h{xt.shape[2], rt.shape[2], wt.shape[2], s[0], p[0], p[2], d[0]};
  Axis w{xt.shape[3], rt.shape[3], wt.shape[3], s[1], p[1], p[3], d[1]};
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *i64 = b.getInt64Ty(), *f64 = b.getDoubleTy();
  llvm::Type *se = lowp::storageType(ctx, dt);
  llvm::Type *accTy = isInt ? i64 : f64;
  const bool hasBias = op.operand(2) != nullptr;
  llvm::Value *x = ctx.operandPtr(0), *wp = ctx.operandPtr(1),
              *bias = hasBias ? ctx.operandPtr(2) : nullptr,
              *out = ctx.resultPtr(0);
  auto load = [&](llvm::Value *base, llvm::Value *i) -> llvm::Value * {
    if (!isInt)
      return b.CreateFPExt(lowp::loadF32(ctx, dt, 1, base, i), f64);
    llvm::Value *v = ctx.load(se, se, base, i);
    return isSigned ? b.CreateSExt(v, i64) : b.CreateZExt(v, i64);
  };
  llvm::Value *accMem;
  {
    llvm::IRBuilder<> eb(&ctx.function()->getEntryBlock(),
                         ctx.function()->getEntryBlock().begin());
    accMem = eb.CreateAlloca(accTy);
  }
  const bool empty = xt.numElements() == 0 || wt.numElements() == 0;
  ctx.emitLoop(0, N * M, 1, [&](llvm::Value *nm) {
    llvm::Value *n = b.CreateUDiv(nm, ctx.i64(M)), *m = b.CreateURem(nm, ctx.i64(M));
    llvm::Value *g = b.CreateUDiv(m, ctx.i64(Mg));
    ctx.emitLoop(0, h.out * w.out, 1, [&](llvm::Value *pix) {
      llvm::Value *oh = b.CreateUDiv(pix, ctx.i64(w.out));
      llvm::Value *ow = b.CreateURem(pix, ctx.i64(w.out));
      b.CreateStore(hasBias ? load(bias, m) : llvm::Constant::getNullValue(accTy),
                    accMem);
      if (!empty)
        ctx.emitLoop(0, Cg * h.kernel * w.kernel, 1, [&](llvm::Value *t) {
          llvm::Value *ic = b.CreateUDiv(t, ctx.i64(h.kernel * w.kernel));
          llvm::Value *kk = b.CreateURem(t, ctx.i64(h.kernel * w.kernel));
          llvm::Value *kh = b.CreateUDiv(kk, ctx.i64(w.kernel));
          llvm::Value *kw = b.CreateURem(kk, ctx.i64(w.kernel));
          llvm::Value *ih = b.CreateAdd(
              b.CreateMul(oh, ctx.i64(h.stride)),
              b.CreateSub(b.CreateMul(kh, ctx.i64(h.dilation)), ctx.i64(h.padBegin)));
          llvm::Value *iw = b.CreateAdd(
              b.CreateMul(ow, ctx.i64(w.stride)),
              b.CreateSub(b.CreateMul(kw, ctx.i64(w.dilation)), ctx.i64(w.padBegin)));
          llvm::Value *inside = b.CreateAnd(
              b.CreateICmpULT(ih, ctx.i64(h.in)), b.CreateICmpULT(iw, ctx.i64(w.in)));
          llvm::Function *f = ctx.function();
          llvm::BasicBlock *use = llvm::BasicBlock::Create(ctx.llvm(), "tap", f);
          llvm::BasicBlock *next = llvm::BasicBlock::Create(ctx.llvm(), "tap.done", f);
          b.CreateCondBr(inside, use, next);
          b.SetInsertPoint(use);
          llvm::Value *c = b.CreateAdd(b.CreateMul(g, ctx.i64(Cg)), ic);
          llvm::Value *xi = b.CreateAdd(
              b.CreateMul(b.CreateAdd(b.CreateMul(b.CreateAdd(b.CreateMul(n, ctx.i64(C)), c),
                                                  ctx.i64(h.in)),
                                      ih),
                          ctx.i64(w.in)),
              iw);
          llvm::Value *wi = b.CreateAdd(b.CreateMul(m, ctx.i64(Cg * h.kernel * w.kernel)), t);
          llvm::Value *prod = isInt ? b.CreateMul(load(x, xi), load(wp, wi))
                                    : b.CreateFMul(load(x, xi), load(wp, wi));
          llvm::Value *acc = b.CreateLoad(accTy, accMem);
          b.CreateStore(isInt ? b.CreateAdd(acc, prod) : b.CreateFAdd(acc, prod),
                        accMem);
          b.CreateBr(next);
          b.SetInsertPoint(next);
        }, "tap");
      llvm::Value *acc = b.CreateLoad(accTy, accMem);
      llvm::Value *oi = b.CreateAdd(b.CreateMul(nm, ctx.i64(h.out * w.out)), pix);
      if (isInt) {
        // Saturate to the dtype, as the reference's setElementFromInt.
        unsigned bits = se->getIntegerBitWidth();
        if (bits < 64) {
          int64_t lo = dt == DType::U8 ? 0
                                       : llvm::APInt::getSignedMinValue(bits).getSExtValue();
          int64_t hi = dt == DType::U8 ? 255
                                       : llvm::APInt::getSignedMaxValue(bits).getSExtValue();
          acc = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, acc, ctx.i64(lo));
          acc = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, acc, ctx.i64(hi));
          acc = b.CreateTrunc(acc, se);
        }
        ctx.store(acc, se, out, oi);
      } else {
        lowp::storeF32(ctx, dt, lowp::roundForStore(b, acc, dt), out, oi);
      }
    }, "pix");
  }, "nm");
  ctx.finish();
  return absl::OkStatus();
}

/// The GEMM entry point `name` for `gs` (emitted by the first call site;
/// convs of one shape share it, as each costs compile time) and its scratch
/// bytes per thread, which ride on an attribute. `blocking` is set to the
/// kernel's when this call emits it.
absl::StatusOr<llvm::Function *> gemmEntry(LoweringContext &ctx,
                                           const std::string &name,
                                           const GemmShape &gs,
                                           const GemmEpilogue &e,
                                           const GemmOptions &o,
                                           int64_t &perThread,
                                           GemmBlocking *blocking = nullptr) {
  if (llvm::Function *f = ctx.module().getFunction(name)) {
    perThread = std::stoll(
        f->getFnAttribute("tcpu-scratch-bytes").getValueAsString().str());
    return f;
  }
  absl::StatusOr<GemmKernel> kernel =
      emitGemmFunction(ctx.module(), ctx.target(), gs, e, name, o);
  if (!kernel.ok())
    return kernel.status();
  perThread = kernel->scratchBytesPerThread;
  if (blocking)
    *blocking = kernel->blocking;
  kernel->function->addFnAttr("tcpu-scratch-bytes", std::to_string(perThread));
  return kernel->function;
}

/// Tasks (image, group, column block) the panel form aims at, so that a
/// small batch still keeps a few threads busy.
constexpr int64_t kMinConvTasks = 8;

/// Whether the conv's weight (operand wOperand of ctx.op()) may be packed
/// at compile time: an f32 constant that nothing else in a fused op reads
/// as it is (the conv's input, the epilogue).
bool weightPackable(const LoweringContext &ctx, int wOperand,
                    const ConvEpilogue *epi, int64_t floats) {
  if (epi && (epi->operands[0] == wOperand ||
              std::count(epi->readOperands.begin(), epi->readOperands.end(),
                          wOperand) > 0))
    return false;
  return prepackable(ctx, wOperand, floats);
}

/// f32 conv2d through im2col without a col buffer: the OH*OW output
/// columns of each (image, group) are split into blocks of NCB columns
/// (K x NCB floats fill about half of L2), and each (image, group, block)
/// task packs its block's im2col straight into the GEMM's B panels
/// (im2colPanels, in this thread's scratch, where the GEMM's L2 block
/// stays) and runs a single-threaded GEMM on them into the output columns
/// of the block (ldc = OH*OW). The last block may be narrower or up to
/// half a block wider: a second GEMM entry with the same blocking, so the
/// panels have one layout.
absl::Status emitPanelConv(LoweringContext &ctx, const Axis &h, const Axis &w,
                           int64_t N, int64_t C, int64_t groups, int64_t Cg,
                           GemmShape gs, const GemmEpilogue &e, int wOperand,
                           bool hasBias, const ConvEpilogue *epi) {
  const int64_t P = h.out * w.out, K = gs.K, Mg = gs.M, M = Mg * groups,
                inPlane = h.in * w.in;
  GemmOptions o;
  o.parallel = false;
  o.prepackedB = true;
  o.prepackedA = weightPackable(ctx, wOperand, epi, M * K);
  const int64_t NR0 = chooseGemmBlocking(ctx.target(), gs, true).NR;
  const int64_t ncMax =
      std::max(NR0, ctx.target().l2CacheBytes / 2 / (K * 4) / NR0 * NR0);
  // Enough tasks for a few threads, but blocks of at least 64 columns (each
  // re-reads A, and re-packs it when it is not prepacked).
  int64_t blocks = std::max(
      ceilDiv(P, ncMax), std::min(ceilDiv(kMinConvTasks, N * groups),
                                  ceilDiv(P, std::max<int64_t>(NR0, 64))));
  const int64_t NCB = blocks == 1 ? P : roundUp(ceilDiv(P, blocks), NR0);
  blocks = ceilDiv(P, NCB);
  int64_t lastWidth = P - (blocks - 1) * NCB;
  // A sliver of a last block would cost a task and a pass over A for a
  // few columns: the block before takes it (at most 1.5 NCB wide).
  if (blocks > 1 && lastWidth * 2 < NCB) {
    --blocks;
    lastWidth += NCB;
  }
  GemmShape full = gs;
  full.N = NCB;
  full.ldc = P;
  o.blocking = chooseGemmBlocking(ctx.target(), full, true);
  o.blocking->packB = true;
  const GemmBlocking bl = *o.blocking;
  // What the panel layouts depend on (MR and KC follow from Mg and K, NR is
  // named) is in the name, so entries shared across convs agree on them.
  auto nameOf = [&](int64_t width) {
    return "tcpu_conv_gemm_" + std::to_string(Mg) + "x" +
           std::to_string(width) + "x" + std::to_string(K) + "_ld" +
           std::to_string(P) + "_nr" + std::to_string(bl.NR) +
           (hasBias ? "_bias" : "") + (o.prepackedA ? "_pa" : "") + "_pb" +
           (epi ? "_" + epi->key : "");
  };
  int64_t fullScratch = 0, lastScratch = 0;
  absl::StatusOr<llvm::Function *> fullGemm =
      gemmEntry(ctx, nameOf(NCB), full, e, o, fullScratch);
  if (!fullGemm.ok())
    return fullGemm.status();
  GemmShape last = full;
  last.N = lastWidth;
  absl::StatusOr<llvm::Function *> lastGemm =
      lastWidth == NCB
          ? fullGemm
          : gemmEntry(ctx, nameOf(lastWidth), last, e, o, lastScratch);
  if (!lastGemm.ok())
    return lastGemm.status();
  // Floats between two groups' weights: Mg x K as stored, or their panels.
  int64_t wGroupStride = Mg * K;
  if (o.prepackedA)
    wGroupStride = prepackOperand(ctx, wOperand, /*asA=*/true, full, bl,
                                  groups, Mg * K);
  // Per thread: the block's panels, the row buffer, the GEMM's packing.
  const int64_t Npad = roundUp(std::max(NCB, lastWidth), bl.NR);
  const int64_t panelFloats = roundUp(K * Npad, 16),
                tmpFloats = roundUp(Npad, 16);
  const int64_t gemmBytes = std::max(fullScratch, lastScratch);
  const int64_t bytes = (panelFloats + tmpFloats) * 4 + gemmBytes;
  llvm::Value *table = im2colTable(ctx, Cg, h, w, bl.KC, bl.NR);
  llvm::Function *pack = im2colPanels(ctx, w.stride);
  llvm::IRBuilder<> &b = ctx.b();
  auto operandPtr = [&](int i) {
    return ctx.operandPtr(epi ? epi->operands[i] : i);
  };
  std::vector<llvm::Value *> captured;
  const int64_t tasks = N * groups * blocks;
  ctx.emitParallelFor(tasks, ceilDiv(kMinTaskWork * 8, Mg * K * NCB), captured,
                      [&](llvm::Value *first, llvm::Value *lastTask) {
    llvm::Value *x = operandPtr(0), *wp = operandPtr(1),
                *bias = hasBias ? operandPtr(2) : nullptr,
                *out = ctx.resultPtr(0);
    llvm::Value *null = llvm::ConstantPointerNull::get(b.getPtrTy());
    llvm::Value *scratch = threadScratch(ctx, ctx.i64(bytes));
    llvm::Value *tmp = at(ctx, scratch, ctx.i64(panelFloats));
    llvm::Value *gemmScratch =
        gemmBytes > 0 ? at(ctx, scratch, ctx.i64(panelFloats + tmpFloats))
                      : null;
    ctx.emitLoop(first, lastTask, 1, [&](llvm::Value *t) {
      llvm::Value *blk = b.CreateURem(t, ctx.i64(blocks));
      llvm::Value *ng = b.CreateUDiv(t, ctx.i64(blocks));
      llvm::Value *g = b.CreateURem(ng, ctx.i64(groups));
      llvm::Value *n = b.CreateUDiv(ng, ctx.i64(groups));
      llvm::Value *p0 = b.CreateMul(blk, ctx.i64(NCB));
      llvm::Value *isLast = b.CreateICmpEQ(blk, ctx.i64(blocks - 1));
      llvm::Value *nb =
          b.CreateSelect(isLast, ctx.i64(lastWidth), ctx.i64(NCB));
      llvm::Value *xg = at(
          ctx, x,
          b.CreateMul(b.CreateAdd(b.CreateMul(n, ctx.i64(C)),
                                  b.CreateMul(g, ctx.i64(Cg))),
                      ctx.i64(inPlane)));
      callWithArgs(ctx, pack, {table, xg, scratch, tmp}, {p0, nb});
      llvm::Value *wg = at(ctx, wp, b.CreateMul(g, ctx.i64(wGroupStride)));
      llvm::Value *og = at(
          ctx, out,
          b.CreateAdd(b.CreateMul(b.CreateAdd(b.CreateMul(n, ctx.i64(M)),
                                              b.CreateMul(g, ctx.i64(Mg))),
                                  ctx.i64(P)),
                      p0));
      llvm::Value *bg =
          hasBias ? at(ctx, bias, b.CreateMul(g, ctx.i64(Mg))) : null;
      llvm::Function *f = *fullGemm;
      llvm::Value *callee = b.CreateSelect(isLast, *lastGemm, f);
      b.CreateCall(f->getFunctionType(), callee,
                   {wg, scratch, og, bg, epi ? epi->prepare(n, g, p0) : null,
                    gemmScratch});
    }, "task");
  });
  ctx.finish();
  return absl::OkStatus();
}

/// conv2d `op`, alone (epi null) or as the start of a fused epilogue.
absl::Status lowerConv(const Op &op, LoweringContext &ctx,
                       const ConvEpilogue *epi) {
  const TensorType &xt = op.operand(0)->type, &wt = op.operand(1)->type,
                   &rt = op.result(0)->type;
  const DType dt = xt.dtype;
  const bool half = lowp::isHalf(dt);
  if (xt.rank() != 4 || wt.rank() != 4 || (epi && dt != DType::F32))
    return absl::UnimplementedError("'conv2d' of " + xt.str() + " with weight " +
                                    wt.str() + " is not lowered");
  if (rt.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  if (isInteger(dt) || xt.numElements() == 0 || wt.numElements() == 0)
    return emitDirectConv(op, ctx);
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
  // f16/bf16 always go through im2col, which widens them to f32.
  const bool direct = h.kernel == 1 && w.kernel == 1 && s[0] == 1 &&
                      s[1] == 1 && p[0] == 0 && p[1] == 0 && p[2] == 0 &&
                      p[3] == 0 && !half;
  const bool hasBias = op.operand(2) != nullptr;
  if (groups == C && Cg == 1) {
    if (std::optional<PaddedPlane> pp = paddedPlane(h, w, ctx.vectorWidth()))
      return emitDepthwise(ctx, h, w, *pp, N, C, Mg, hasBias, dt, epi);
  }

  GemmShape gs;
  gs.M = Mg;
  gs.N = P;
  gs.K = K;
  GemmEpilogue e;
  if (hasBias)
    e.bias = GemmEpilogue::Bias::PerRow;
  if (epi) {
    e.custom = epi->apply;
    e.customKey = epi->key;
  }
  // f32 constant weights are packed once, at compile time, per group.
  const int wOperand = epi ? epi->operands[1] : 1;
  if (!half && !direct)
    return emitPanelConv(ctx, h, w, N, C, groups, Cg, gs, e, wOperand, hasBias,
                         epi);
  GemmOptions gopts;
  gopts.prepackedA = !half && weightPackable(ctx, wOperand, epi, M * K);
  // Convs of one shape share their GEMM kernel (ResNets repeat shapes; each
  // kernel costs compile time); its scratch size rides on an attribute.
  const std::string gemmName =
      "tcpu_conv_gemm_" + std::to_string(gs.M) + "x" + std::to_string(gs.N) +
      "x" + std::to_string(gs.K) + (hasBias ? "_bias" : "") +
      (gopts.prepackedA ? "_pa" : "") + (epi ? "_" + epi->key : "");
  int64_t perThread = 0;
  // The kernel's blocking (the prepacked flag does not change it).
  GemmBlocking blocking = chooseGemmBlocking(ctx.target(), gs);
  absl::StatusOr<llvm::Function *> entry =
      gemmEntry(ctx, gemmName, gs, e, gopts, perThread, &blocking);
  if (!entry.ok())
    return entry.status();
  llvm::Function *gemm = *entry;
  // Floats between two groups' weights: Mg x K as stored, or their panels.
  int64_t wGroupStride = Mg * K;
  if (gopts.prepackedA)
    wGroupStride = prepackOperand(ctx, wOperand, /*asA=*/true, gs, blocking,
                                  groups, Mg * K);

  llvm::IRBuilder<> &b = ctx.b();
  auto operandPtr = [&](int i) {
    return ctx.operandPtr(epi ? epi->operands[i] : i);
  };
  llvm::Value *x = operandPtr(0), *wp = operandPtr(1),
        *bias = hasBias ? operandPtr(2) : nullptr, *out = ctx.resultPtr(0);
  llvm::Value *null = llvm::ConstantPointerNull::get(b.getPtrTy());
  auto round64 = [](int64_t bytes) { return (bytes + 63) / 64 * 64; };
  const int64_t colBytes = direct ? 0 : round64(K * P * 4);
  // f16/bf16: f32 copies of the weights and bias, and an f32 result of one
  // (image, group) that is rounded into the output, after col.
  const int64_t wBytes = half ? round64(M * K * 4) : 0,
                bBytes = half && hasBias ? round64(M * 4) : 0,
                oBytes = half ? round64(Mg * P * 4) : 0;
  const int64_t fixedBytes = colBytes + wBytes + bBytes + oBytes;
  llvm::Value *col = null, *gemmScratch = null, *scratch = null;
  if (fixedBytes > 0 || perThread > 0) {
    llvm::Value *bytes = ctx.i64(fixedBytes);
    if (perThread > 0) {
      llvm::Value *threads = b.CreateCall(
          ctx.module().getOrInsertFunction(
              "tcpu_num_threads", llvm::FunctionType::get(b.getInt64Ty(), false)),
          {});
      bytes = b.CreateAdd(bytes, b.CreateMul(threads, ctx.i64(perThread)));
    }
    scratch = threadScratch(ctx, bytes);
    col = scratch;
    if (perThread > 0)
      gemmScratch =
          b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), scratch, fixedBytes);
  }
  llvm::Value *o32 = null;
  if (half) {
    // Widen the weights and bias once; out goes through o32.
    llvm::Type *i8 = b.getInt8Ty();
    llvm::Value *w32 = b.CreateConstInBoundsGEP1_64(i8, scratch, colBytes);
    widenInto(ctx, w32, wp, M * K, dt);
    wp = w32;
    if (hasBias) {
      llvm::Value *b32 =
          b.CreateConstInBoundsGEP1_64(i8, scratch, colBytes + wBytes);
      widenInto(ctx, b32, bias, M, dt);
      bias = b32;
    }
    o32 = b.CreateConstInBoundsGEP1_64(i8, scratch, colBytes + wBytes + bBytes);
  }
  llvm::Type *se = lowp::storageType(ctx, dt);
  ctx.emitLoop(0, N, 1, [&](llvm::Value *n) {
    ctx.emitLoop(0, groups, 1, [&](llvm::Value *g) {
      llvm::Value *xg = b.CreateGEP(
          se, x,
          b.CreateMul(b.CreateAdd(b.CreateMul(n, ctx.i64(C)),
                                  b.CreateMul(g, ctx.i64(Cg))),
                      ctx.i64(inPlane)));
      llvm::Value *wg = at(ctx, wp, b.CreateMul(g, ctx.i64(wGroupStride)));
      llvm::Value *og = b.CreateGEP(
          se, out,
          b.CreateMul(b.CreateAdd(b.CreateMul(n, ctx.i64(M)),
                                  b.CreateMul(g, ctx.i64(Mg))),
                      ctx.i64(P)));
      llvm::Value *bg = hasBias ? at(ctx, bias, b.CreateMul(g, ctx.i64(Mg))) : null;
      llvm::Value *B = xg;
      if (!direct) {
        emitIm2col(ctx, xg, col, Cg, h, w, dt);
        B = col;
      }
      b.CreateCall(gemm, {wg, B, half ? o32 : og, bg,
                          epi ? epi->prepare(n, g, ctx.i64(0)) : null,
                          gemmScratch});
      if (half)
        narrowInto(ctx, og, o32, Mg * P, dt);
    }, "g");
  }, "n");
  ctx.finish();
  return absl::OkStatus();
}

} // namespace

absl::Status lowerConv2d(const Op &op, LoweringContext &ctx) {
  return lowerConv(op, ctx, nullptr);
}

absl::Status lowerConv2dWithEpilogue(const Op &conv, LoweringContext &ctx,
                                     const ConvEpilogue &epilogue) {
  return lowerConv(conv, ctx, &epilogue);
}

absl::Status lowerMaxPool2d(const Op &op, LoweringContext &ctx) {
  return lowerPool(op, ctx, true);
}

absl::Status lowerAvgPool2d(const Op &op, LoweringContext &ctx) {
  return lowerPool(op, ctx, false);
}

absl::Status lowerGlobalAvgPool(const Op &op, LoweringContext &ctx) {
  const TensorType &xt = op.operand(0)->type, &rt = op.result(0)->type;
  const DType dt = xt.dtype;
  if ((dt != DType::F32 && !lowp::isHalf(dt)) || xt.rank() < 3 ||
      rt.numElements() == 0)
    return absl::UnimplementedError(
        "'global_avg_pool' is lowered for non-empty float tensors only");
  const int64_t planes = xt.shape[0] * xt.shape[1];
  int64_t size = 1;
  for (int i = 2; i < xt.rank(); ++i)
    size *= xt.shape[i];
  // f32 sums in f32 lanes; f16/bf16 (widened exactly) in double, rounded
  // once at the store, as the reference does.
  const bool half = lowp::isHalf(dt);
  std::vector<llvm::Value *> values = {ctx.operandPtr(0), ctx.resultPtr(0)};
  ctx.emitParallelFor(planes, ceilDiv(kMinTaskWork, std::max<int64_t>(size, 1)),
                      values, [&](llvm::Value *first, llvm::Value *last) {
    llvm::IRBuilder<> &b = ctx.b();
    llvm::Type *accTy = half ? b.getDoubleTy() : b.getFloatTy();
    const int VW = ctx.vectorWidth();
    llvm::Type *vt = ctx.vectorOf(accTy, VW);
    llvm::Value *x = values[0], *out = values[1];
    // Accumulators in entry-block allocas (promoted to registers).
    llvm::IRBuilder<> eb(&ctx.function()->getEntryBlock(),
                         ctx.function()->getEntryBlock().begin());
    llvm::Value *vacc = eb.CreateAlloca(vt);
    llvm::Value *sacc = eb.CreateAlloca(accTy);
    auto loadAcc = [&](llvm::Value *i, int lanes) {
      llvm::Value *v = lowp::loadF32(ctx, dt, lanes, x, i);
      return half ? b.CreateFPExt(v, ctx.vectorOf(accTy, lanes)) : v;
    };
    const int64_t nv = VW > 1 ? size / VW * VW : 0;
    ctx.emitLoop(first, last, 1, [&](llvm::Value *pl) {
      llvm::Value *base = b.CreateMul(pl, ctx.i64(size));
      llvm::Value *total = llvm::ConstantFP::get(accTy, 0.0);
      if (nv > 0) {
        b.CreateStore(llvm::Constant::getNullValue(vt), vacc);
        ctx.emitLoop(0, nv, VW, [&](llvm::Value *i) {
          b.CreateStore(b.CreateFAdd(b.CreateLoad(vt, vacc),
                                     loadAcc(b.CreateAdd(base, i), VW)),
                        vacc);
        }, "i");
        total = b.CreateFAddReduce(total, b.CreateLoad(vt, vacc));
      }
      b.CreateStore(total, sacc);
      ctx.emitLoop(nv, size, 1, [&](llvm::Value *i) {
        b.CreateStore(b.CreateFAdd(b.CreateLoad(accTy, sacc),
                                   loadAcc(b.CreateAdd(base, i), 1)),
                      sacc);
      }, "r");
      llvm::Value *mean = b.CreateFDiv(
          b.CreateLoad(accTy, sacc),
          llvm::ConstantFP::get(accTy, static_cast<double>(size)));
      lowp::storeF32(ctx, dt, half ? lowp::roundForStore(b, mean, dt) : mean,
                     out, pl);
    }, "plane");
  });
  ctx.finish();
  return absl::OkStatus();
}

} // namespace tcpu
