//===- VectorMath.h - IR helpers shared by the kernel lowerings -*- C++ -*-===//
//
// Small IRBuilder helpers used by every lowering file: constants shaped like
// a value, float conversions, fmuladd, the reference's NaN-propagating
// max/min, and the vectorized f32 e^x, sigmoid and tanh. Each works on
// scalars and vectors.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"

#include <cmath>
#include <limits>
#include <numbers>

namespace tcpu::vmath {

using Builder = llvm::IRBuilder<>;

inline llvm::Value *fconst(llvm::Value *like, double v) {
  return llvm::ConstantFP::get(like->getType(), v);
}
inline llvm::Type *withElement(llvm::Value *like, llvm::Type *scalar) {
  return like->getType()->getWithNewType(scalar);
}
inline llvm::Value *toDouble(Builder &b, llvm::Value *x) {
  return b.CreateFPExt(x, withElement(x, b.getDoubleTy()));
}
inline llvm::Value *toFloat(Builder &b, llvm::Value *x) {
  return b.CreateFPTrunc(x, withElement(x, b.getFloatTy()));
}
inline llvm::Value *fmuladd(Builder &b, llvm::Value *x, llvm::Value *y,
                            llvm::Value *z) {
  return b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {x->getType()}, {x, y, z});
}

/// NaN-propagating max/min keeping lhs on equality (the reference's order).
inline llvm::Value *nanMax(Builder &b, llvm::Value *x, llvm::Value *y) {
  llvm::Value *pick = b.CreateSelect(b.CreateFCmpOLT(x, y), y, x);
  return b.CreateSelect(b.CreateFCmpUNO(x, y),
                        fconst(x, std::numeric_limits<double>::quiet_NaN()), pick);
}
inline llvm::Value *nanMin(Builder &b, llvm::Value *x, llvm::Value *y) {
  llvm::Value *pick = b.CreateSelect(b.CreateFCmpOLT(y, x), y, x);
  return b.CreateSelect(b.CreateFCmpUNO(x, y),
                        fconst(x, std::numeric_limits<double>::quiet_NaN()), pick);
}

/// e^x on f32 lanes: Cephes expf range reduction x = n ln2 + r, |r| <= ln2/2,
/// a degree-6 polynomial for e^r, and the scaling by 2^n done as two
/// multiplications by 2^(n/2) so that subnormal results and results just
/// below overflow are rounded once. Inputs are clamped to [-104, 89], beyond
/// which e^x is 0 or inf in f32; NaN propagates.
inline llvm::Value *expF32(Builder &b, llvm::Value *x) {
  llvm::Value *xc = b.CreateSelect(b.CreateFCmpOGT(x, fconst(x, 89.0)), fconst(x, 89.0), x);
  xc = b.CreateSelect(b.CreateFCmpOLT(xc, fconst(x, -104.0)), fconst(x, -104.0), xc);
  llvm::Value *n = b.CreateIntrinsic(llvm::Intrinsic::roundeven, {x->getType()},
                                     {b.CreateFMul(xc, fconst(x, std::numbers::log2e))});
  llvm::Value *r = fmuladd(b, n, fconst(x, -0.693359375), xc);
  r = fmuladd(b, n, fconst(x, 2.12194440e-4), r);
  llvm::Value *p = fconst(x, 1.9875691500E-4);
  for (double c : {1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2,
                   1.6666665459E-1, 5.0000001201E-1})
    p = fmuladd(b, p, r, fconst(x, c));
  llvm::Value *e = b.CreateFAdd(fmuladd(b, p, b.CreateFMul(r, r), r), fconst(x, 1.0));
  llvm::Type *it = withElement(x, b.getInt32Ty());
  llvm::Value *ni = b.CreateFPToSI(n, it);
  llvm::Value *n1 = b.CreateAShr(ni, llvm::ConstantInt::get(it, 1));
  llvm::Value *n2 = b.CreateSub(ni, n1);
  auto pow2 = [&](llvm::Value *k) {
    return b.CreateBitCast(
        b.CreateShl(b.CreateAdd(k, llvm::ConstantInt::get(it, 127)),
                    llvm::ConstantInt::get(it, 23)),
        x->getType());
  };
  llvm::Value *result = b.CreateFMul(b.CreateFMul(e, pow2(n1)), pow2(n2));
  return b.CreateSelect(b.CreateFCmpUNO(x, x), x, result);
}

/// 1 / (1 + e^-x) on f32 lanes, from e = e^-|x| <= 1: 1/(1+e) for x >= 0
/// and e/(1+e) below, so that no cancellation or overflow occurs. `lo`, when
/// given, is a small correction to x (x + lo is the true argument, |lo| at
/// most half an ulp of x): e^-|x+lo| = e^-|x| (1 -+ lo) to first order.
inline llvm::Value *sigmoidF32(Builder &b, llvm::Value *x,
                               llvm::Value *lo = nullptr) {
  llvm::Value *ax = b.CreateIntrinsic(llvm::Intrinsic::fabs, {x->getType()}, {x});
  llvm::Value *e = expF32(b, b.CreateFNeg(ax));
  llvm::Value *positive = b.CreateFCmpOGE(x, fconst(x, 0.0));
  if (lo) {
    llvm::Value *signedLo = b.CreateSelect(positive, b.CreateFNeg(lo), lo);
    e = fmuladd(b, e, signedLo, e);
  }
  llvm::Value *den = b.CreateFAdd(fconst(x, 1.0), e);
  llvm::Value *num = b.CreateSelect(positive, fconst(x, 1.0), e);
  return b.CreateFDiv(num, den);
}

/// Cephes tanhf on f32 lanes: an odd polynomial for |x| <= 0.625, else
/// 1 - 2/(e^2|x| + 1) with x's sign.
inline llvm::Value *tanhF32(Builder &b, llvm::Value *x) {
  llvm::Value *ax = b.CreateIntrinsic(llvm::Intrinsic::fabs, {x->getType()}, {x});
  llvm::Value *s = expF32(b, b.CreateFAdd(ax, ax));
  llvm::Value *large = b.CreateFSub(
      fconst(x, 1.0), b.CreateFDiv(fconst(x, 2.0), b.CreateFAdd(s, fconst(x, 1.0))));
  large = b.CreateIntrinsic(llvm::Intrinsic::copysign, {x->getType()}, {large, x});
  llvm::Value *z = b.CreateFMul(x, x);
  llvm::Value *p = fconst(x, -5.70498872745E-3);
  for (double c : {2.06390887954E-2, -5.37397155531E-2, 1.33314422036E-1,
                   -3.33332819422E-1})
    p = fmuladd(b, p, z, fconst(x, c));
  llvm::Value *small = fmuladd(b, b.CreateFMul(p, z), x, x);
  return b.CreateSelect(b.CreateFCmpOGT(ax, fconst(x, 0.625)), large, small);
}

} // namespace tcpu::vmath
