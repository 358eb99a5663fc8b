//===- LowPrecision.h - f16/bf16 loads, stores and roundings -----*- C++
//-*-===//
//
// Kernels never compute in f16 or bf16: they widen on load to f32 (exact),
// compute in f32 or double, and round on store, reproducing the reference's
// rounding (ir/ops/OpSupport.cpp): a double (or an integer) result is first
// rounded to odd at f32, then to nearest even at 16 bits, which equals one
// rounding of the exact value ("When double rounding is odd", Boldo and
// Melquiond). f16 uses LLVM's `half` conversions (F16C's vcvtph2ps /
// vcvtps2ph on x86); bf16 is handled as i16 bits with integer ops (LLVM 19
// turns `fptrunc float to bfloat` into a libcall on most x86 CPUs), with
// NaN kept quiet as Types.cpp's floatToBFloat16 does. Every helper works on
// scalars and vectors.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Lowering.h"
#include "codegen/lower/VectorMath.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"

namespace tcpu::lowp {

using Builder = llvm::IRBuilder<>;
using vmath::fconst;
using vmath::withElement;

inline bool isHalf(DType t) { return t == DType::F16 || t == DType::BF16; }

inline llvm::Value *iconstLike(llvm::Value *like, uint64_t v) {
  return llvm::ConstantInt::get(like->getType(), v);
}

/// The LLVM type of one stored element of `t`: half for f16, i16 for bf16,
/// else LoweringContext::scalarType (i8 for bool).
inline llvm::Type *storageType(LoweringContext &ctx, DType t) {
  if (t == DType::F16)
    return ctx.b().getHalfTy();
  if (t == DType::BF16)
    return ctx.b().getInt16Ty();
  return *ctx.scalarType(t);
}

/// Stored f16/bf16 lanes -> f32 lanes (exact).
inline llvm::Value *widen(Builder &b, llvm::Value *v, DType t) {
  llvm::Type *f32 = withElement(v, b.getFloatTy());
  if (t == DType::F16)
    return b.CreateFPExt(v, f32);
  llvm::Value *bits = b.CreateZExt(v, withElement(v, b.getInt32Ty()));
  bits = b.CreateShl(bits, iconstLike(bits, 16));
  return b.CreateBitCast(bits, f32);
}

/// f32 lanes -> stored f16/bf16 lanes, rounded to nearest even.
inline llvm::Value *narrow(Builder &b, llvm::Value *f, DType t) {
  if (t == DType::F16)
    return b.CreateFPTrunc(f, withElement(f, b.getHalfTy()));
  llvm::Value *bits = b.CreateBitCast(f, withElement(f, b.getInt32Ty()));
  llvm::Value *magnitude = b.CreateAnd(bits, iconstLike(bits, 0x7fffffffu));
  llvm::Value *isNaN =
      b.CreateICmpUGT(magnitude, iconstLike(bits, 0x7f800000u));
  llvm::Value *high = b.CreateLShr(bits, iconstLike(bits, 16));
  llvm::Value *rounding = b.CreateAdd(iconstLike(bits, 0x7fffu),
                                      b.CreateAnd(high, iconstLike(bits, 1)));
  llvm::Value *rounded =
      b.CreateLShr(b.CreateAdd(bits, rounding), iconstLike(bits, 16));
  llvm::Value *quietNaN = b.CreateOr(high, iconstLike(bits, 0x40));
  return b.CreateTrunc(b.CreateSelect(isNaN, quietNaN, rounded),
                       withElement(f, b.getInt16Ty()));
}

/// The neighbour of f32 `nearest` whose last significand bit is 1, unless
/// exact: toward zero first when `nearestIsAbove` (|nearest| > |exact
/// value|), as oddF32 of ir/ops/OpSupport.cpp.
inline llvm::Value *oddF32(Builder &b, llvm::Value *nearest, llvm::Value *exact,
                           llvm::Value *nearestIsAbove) {
  llvm::Value *bits =
      b.CreateBitCast(nearest, withElement(nearest, b.getInt32Ty()));
  // |nearest| > |v| >= 0, so nearest is not zero: one step toward zero is
  // bits - 1 for either sign (inf becomes the largest finite value).
  llvm::Value *truncated = b.CreateSelect(
      nearestIsAbove, b.CreateSub(bits, iconstLike(bits, 1)), bits);
  llvm::Value *odd = b.CreateBitCast(b.CreateOr(truncated, iconstLike(bits, 1)),
                                     nearest->getType());
  return b.CreateSelect(exact, nearest, odd);
}

/// double lanes -> f32 lanes rounded to odd (NaN stays NaN).
inline llvm::Value *roundToOddF32(Builder &b, llvm::Value *d) {
  llvm::Value *f = b.CreateFPTrunc(d, withElement(d, b.getFloatTy()));
  llvm::Value *back = b.CreateFPExt(f, d->getType());
  llvm::Value *backAbs =
      b.CreateIntrinsic(llvm::Intrinsic::fabs, {d->getType()}, {back});
  llvm::Value *dAbs =
      b.CreateIntrinsic(llvm::Intrinsic::fabs, {d->getType()}, {d});
  // NaN: fcmp ueq is true, so it counts as exact and stays.
  llvm::Value *exact = b.CreateFCmpUEQ(back, d);
  return oddF32(b, f, exact, b.CreateFCmpOGT(backAbs, dAbs));
}

/// Integer lanes (sign-extended to i64 when `isSigned`, else zero-extended)
/// -> f32 rounded to odd, as roundToOddF32(int64_t) of the reference.
inline llvm::Value *intToF32RoundToOdd(Builder &b, llvm::Value *v,
                                       bool isSigned) {
  llvm::Type *i64 = withElement(v, b.getInt64Ty());
  v = isSigned ? b.CreateSExt(v, i64) : b.CreateZExt(v, i64);
  llvm::Type *f32 = withElement(v, b.getFloatTy());
  llvm::Value *f = isSigned ? b.CreateSIToFP(v, f32) : b.CreateUIToFP(v, f32);
  // f may be 2^63 (> INT64_MAX); fptosi.sat then gives INT64_MAX.
  llvm::Value *fits = b.CreateFCmpOLT(f, fconst(f, 9.2233720368547758e18));
  llvm::Value *back =
      b.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {i64, f32}, {f});
  llvm::Value *exact = b.CreateAnd(fits, b.CreateICmpEQ(back, v));
  llvm::Value *nonNegative = b.CreateICmpSGE(v, llvm::ConstantInt::get(i64, 0));
  llvm::Value *above = b.CreateOr(
      b.CreateNot(fits), b.CreateSelect(nonNegative, b.CreateICmpSGT(back, v),
                                        b.CreateICmpSLT(back, v)));
  return oddF32(b, f, exact, above);
}

/// Loads `lanes` elements of a float dtype (f32, f16, bf16) at element
/// `index` of `base`, as f32.
inline llvm::Value *loadF32(LoweringContext &ctx, DType t, int lanes,
                            llvm::Value *base, llvm::Value *index) {
  llvm::Type *elem = storageType(ctx, t);
  llvm::Value *v = ctx.load(ctx.vectorOf(elem, lanes), elem, base, index);
  return isHalf(t) ? widen(ctx.b(), v, t) : v;
}

/// Stores f32 lanes `v` as dtype `t` (f32, f16 or bf16; rounded to nearest
/// even for the 16-bit ones).
inline void storeF32(LoweringContext &ctx, DType t, llvm::Value *v,
                     llvm::Value *base, llvm::Value *index) {
  llvm::Type *elem = storageType(ctx, t);
  ctx.store(isHalf(t) ? narrow(ctx.b(), v, t) : v, elem, base, index);
}

/// Rounds double lanes for a store to `t`: once to nearest even for f32, to
/// odd at f32 for f16/bf16 (storeF32 then rounds once more, to 16 bits).
inline llvm::Value *roundForStore(Builder &b, llvm::Value *d, DType t) {
  return isHalf(t) ? roundToOddF32(b, d)
                   : b.CreateFPTrunc(d, withElement(d, b.getFloatTy()));
}

} // namespace tcpu::lowp
