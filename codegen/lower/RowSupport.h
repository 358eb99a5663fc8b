//===- RowSupport.h - Helpers of the row kernels (reductions, norms) -*- C++ -*-===//
//
// Shared by lower/Reductions.cpp and lower/Normalization.cpp: reduction of a
// contiguous float row (f16/bf16 widened to f32) into a scalar (vectorized
// with a horizontal combine at the end), reduction of W adjacent columns over
// a strided axis, accumulator slots (allocas that SROA turns into
// registers), NaN-propagating max/min and the vectorized f32 exp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Lowering.h"
#include "codegen/lower/LowPrecision.h"
#include "codegen/lower/VectorMath.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"

#include <cmath>
#include <limits>
#include <numbers>

namespace tcpu::rows {

using Builder = llvm::IRBuilder<>;
using vmath::expF32;
using vmath::fconst;
using vmath::fmuladd;
using vmath::nanMax;
using vmath::nanMin;
using vmath::toDouble;
using vmath::toFloat;
using vmath::withElement;

inline llvm::Value *fconstOf(llvm::Type *t, double v) {
  return llvm::ConstantFP::get(t, v);
}
/// `s` splatted to the lane count of `like` (itself when `like` is scalar
/// or `s` already a vector).
inline llvm::Value *splatLike(Builder &b, llvm::Value *s, llvm::Value *like) {
  if (s->getType()->isVectorTy())
    return s;
  if (auto *vt = llvm::dyn_cast<llvm::FixedVectorType>(like->getType()))
    return b.CreateVectorSplat(vt->getNumElements(), s);
  return s;
}
inline llvm::Value *splatTo(Builder &b, llvm::Value *s, int lanes) {
  return lanes == 1 ? s : b.CreateVectorSplat(lanes, s);
}



/// e^d for d in double lanes (exactly x - max of two f32): d is split into
/// f32 hi + lo and e^d = e^hi (1 + lo) to first order, so the rounding of the
/// subtraction to f32 adds no error. Result in f32 lanes.
inline llvm::Value *expOfDoubleF32(Builder &b, llvm::Value *d) {
  llvm::Value *hi = toFloat(b, d);
  llvm::Value *lo = toFloat(b, b.CreateFSub(d, toDouble(b, hi)));
  llvm::Value *finite = b.CreateFCmpONE(
      b.CreateIntrinsic(llvm::Intrinsic::fabs, {hi->getType()}, {hi}),
      fconst(hi, INFINITY));
  lo = b.CreateSelect(finite, lo, fconst(lo, 0.0));
  llvm::Value *e = expF32(b, hi);
  return fmuladd(b, e, lo, e);
}

/// A mutable accumulator: an alloca in the entry block (promoted to a
/// register by SROA).
class Slot {
public:
  Slot(LoweringContext &ctx, llvm::Type *type) : ctx_(ctx), type_(type) {
    llvm::BasicBlock &entry = ctx.function()->getEntryBlock();
    Builder eb(&entry, entry.begin());
    ptr_ = eb.CreateAlloca(type);
  }
  llvm::Value *get() { return ctx_.b().CreateLoad(type_, ptr_); }
  void set(llvm::Value *v) { ctx_.b().CreateStore(v, ptr_); }

private:
  LoweringContext &ctx_;
  llvm::Type *type_;
  llvm::Value *ptr_;
};

/// acc <- step(acc, x, index): acc has the accumulator type (scalar or
/// vector of `lanes`), x is f32 of the same lanes, loaded at element `index`
/// (of lane 0).
using StepFn = std::function<llvm::Value *(Builder &, llvm::Value *acc, llvm::Value *x,
                                           llvm::Value *index)>;
/// Combines two scalar partial results.
using CombineFn = std::function<llvm::Value *(Builder &, llvm::Value *, llvm::Value *)>;

/// Reduces the contiguous elements ptr[base .. base + n) (n > 0 static) of
/// float dtype `dtype` (f16/bf16 are widened to f32 lanes) into one scalar
/// of type `accTy`: W-lane vectors accumulate from `init`, their lanes are
/// combined in lane order, then the scalar tail is stepped.
inline llvm::Value *reduceRow(LoweringContext &ctx, llvm::Value *ptr,
                              llvm::Value *base, int64_t n, llvm::Type *accTy,
                              double init, const StepFn &step,
                              const CombineFn &combine,
                              DType dtype = DType::F32) {
  Builder &b = ctx.b();
  int w = ctx.vectorWidth();
  int64_t vectorEnd = w > 1 ? n / w * w : 0;
  Slot scalar(ctx, accTy);
  if (vectorEnd > 0) {
    llvm::Type *vt = ctx.vectorOf(accTy, w);
    Slot acc(ctx, vt);
    acc.set(fconstOf(vt, init));
    ctx.emitLoop(0, vectorEnd, w, [&](llvm::Value *k) {
      llvm::Value *idx = b.CreateAdd(base, k);
      llvm::Value *x = lowp::loadF32(ctx, dtype, w, ptr, idx);
      acc.set(step(b, acc.get(), x, idx));
    }, "rv");
    llvm::Value *v = acc.get();
    llvm::Value *r = b.CreateExtractElement(v, uint64_t{0});
    for (int l = 1; l < w; ++l)
      r = combine(b, r, b.CreateExtractElement(v, uint64_t(l)));
    scalar.set(r);
  } else {
    scalar.set(fconstOf(accTy, init));
  }
  ctx.emitLoop(vectorEnd, n, 1, [&](llvm::Value *k) {
    llvm::Value *idx = b.CreateAdd(base, k);
    llvm::Value *x = lowp::loadF32(ctx, dtype, 1, ptr, idx);
    scalar.set(step(b, scalar.get(), x, idx));
  }, "rs");
  return scalar.get();
}

/// For lanes ptr[at(k) .. at(k) + lanes), k in [0, n) with
/// at(k) = base + k * stride, accumulates `lanes` independent columns
/// (elements of float dtype `dtype`, loaded as f32).
inline llvm::Value *reduceColumns(LoweringContext &ctx, llvm::Value *ptr,
                                  llvm::Value *base, int64_t n, int64_t stride,
                                  int lanes, llvm::Type *accTy, double init,
                                  const StepFn &step, DType dtype = DType::F32) {
  Builder &b = ctx.b();
  llvm::Type *vt = ctx.vectorOf(accTy, lanes);
  Slot acc(ctx, vt);
  acc.set(fconstOf(vt, init));
  ctx.emitLoop(0, n, 1, [&](llvm::Value *k) {
    llvm::Value *idx = b.CreateAdd(base, b.CreateMul(k, ctx.i64(stride)));
    llvm::Value *x = lowp::loadF32(ctx, dtype, lanes, ptr, idx);
    acc.set(step(b, acc.get(), x, idx));
  }, "rc");
  return acc.get();
}

/// Runs body(j, lanes) over [0, n): W-lane chunks, then single lanes.
inline void forLanes(LoweringContext &ctx, int64_t n,
                     const std::function<void(llvm::Value *, int)> &body) {
  int w = ctx.vectorWidth();
  int64_t vectorEnd = w > 1 ? n / w * w : 0;
  ctx.emitLoop(0, vectorEnd, w, [&](llvm::Value *j) { body(j, w); }, "cv");
  ctx.emitLoop(vectorEnd, n, 1, [&](llvm::Value *j) { body(j, 1); }, "cs");
}

inline absl::Status unsupported(const Op &op, const std::string &why) {
  return absl::UnimplementedError("'" + std::string(op.mnemonic()) +
                                  "' is not lowered for " + why);
}

} // namespace tcpu::rows
