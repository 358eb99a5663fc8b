//===- VectorMath.h - IR helpers shared by the kernel lowerings -*- C++ -*-===//
//
// Small IRBuilder helpers used by every lowering file: constants shaped like
// a value, float conversions, fmuladd, the reference's NaN-propagating
// max/min, and the vectorized f32 e^x. Each works on scalars and vectors.
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

} // namespace tcpu::vmath
