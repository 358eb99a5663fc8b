//===- Elementwise.cpp - Lowering of elementwise ops -----------------------===//
//
// Unary, binary, compare, logic, where, cast, clip, leaky_relu, gelu, relu.
// One loop-nest emitter (emitElementwise) handles NumPy broadcasting for all
// of them: dims of size 1 are dropped and adjacent dims whose strides agree
// in every operand are merged, so equal shapes become one flat loop; the
// innermost dim is vectorized with <W x T> (W = target.f32VectorWidth)
// loads for operands of stride 1 and a splat for broadcast ones (stride 0),
// and a scalar loop does the remainder. Each op supplies only a function
// from operand values (scalars or vectors) to the result value.
//
// Numerics, against the interpreter (which computes in double and rounds):
// - exact: add, sub, mul, div, sqrt and reciprocal in f32 (IEEE f32 +-*/ and
//   sqrt are correctly rounded, and double has more than 2*24+2 bits, so
//   computing in double and rounding once gives the same f32), neg, abs,
//   relu, max, min, clip, round, compare, logic, where, cast; rsqrt and
//   leaky_relu (alpha not an f32) are computed in double like the
//   reference, so also exact;
// - exact, but scalar: log, erf, pow and gelu (approximate="none") call the
//   same libm double functions as the interpreter, lane by lane (TODO:
//   vectorized polynomials);
// - a few ulp: exp, sigmoid, tanh and gelu (approximate="tanh") use a
//   vectorized f32 exp (Cephes range reduction and polynomial); the unit
//   tests measure and bound the error.
// Integer division and pow report errors (division by zero) that a kernel
// cannot return: they stay on the interpreter, as do f16 and bf16.
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"
#include "codegen/lower/VectorMath.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"

#include <cmath>
#include <limits>
#include <numbers>

namespace tcpu {

namespace {


using Builder = llvm::IRBuilder<>;
/// Computes the result from operand values (all scalars or all vectors of
/// one lane count, of the operands' LLVM element types).
using ComputeFn = std::function<llvm::Value *(LoweringContext &, llvm::ArrayRef<llvm::Value *>)>;

absl::Status unsupported(const Op &op, const std::string &why) {
  return absl::UnimplementedError("'" + std::string(op.mnemonic()) +
                                  "' is not lowered for " + why);
}

/// Element strides of a row-major `in` broadcast to `out` (0 on broadcast dims).
std::vector<int64_t> broadcastStrides(const Shape &in, const Shape &out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  size_t offset = out.size() - in.size();
  for (size_t d = in.size(); d-- > 0;) {
    if (in[d] != 1)
      strides[offset + d] = stride;
    stride *= in[d];
  }
  return strides;
}

struct Dim {
  int64_t size;
  std::vector<int64_t> strides; // per array: operands, then the result
};

/// Drops size-1 dims and merges adjacent dims that every array walks
/// contiguously; at least one dim remains.
std::vector<Dim> coalesce(const Shape &out,
                          const std::vector<std::vector<int64_t>> &strides) {
  std::vector<Dim> dims;
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1)
      continue;
    Dim dim{out[d], {}};
    for (const auto &s : strides)
      dim.strides.push_back(s[d]);
    if (!dims.empty()) {
      Dim &outer = dims.back();
      bool mergeable = true;
      for (size_t k = 0; k < strides.size(); ++k)
        mergeable &= outer.strides[k] == dim.strides[k] * dim.size;
      if (mergeable) {
        outer.size *= dim.size;
        outer.strides = dim.strides;
        continue;
      }
    }
    dims.push_back(std::move(dim));
  }
  if (dims.empty())
    dims.push_back(Dim{1, std::vector<int64_t>(strides.size(), 0)});
  return dims;
}

/// The loop nest for op's result (result 0), reading operands through
/// `types` (LLVM element types; nullptr skips an operand) and writing
/// `resultType`.
void emitElementwise(LoweringContext &ctx, const std::vector<llvm::Type *> &types,
                     llvm::Type *resultType, const ComputeFn &fn) {
  const Op &op = ctx.op();
  const Shape &out = op.result(0)->type.shape;
  Builder &b = ctx.b();
  size_t n = types.size();
  std::vector<std::vector<int64_t>> strides;
  std::vector<llvm::Value *> ptrs;
  for (size_t k = 0; k < n; ++k) {
    strides.push_back(broadcastStrides(op.operand(k)->type.shape, out));
    ptrs.push_back(ctx.operandPtr(k));
  }
  strides.push_back(broadcastStrides(out, out));
  llvm::Value *outPtr = ctx.resultPtr(0);
  if (op.result(0)->type.numElements() == 0) {
    ctx.finish();
    return;
  }
  std::vector<Dim> dims = coalesce(out, strides);
  int w = ctx.vectorWidth();
  const Dim &inner = dims.back();
  bool vectorizable = w > 1 && inner.size >= w;
  for (size_t k = 0; k < n; ++k)
    vectorizable &= inner.strides[k] == 0 || inner.strides[k] == 1;

  // offsets[k]: element offset of array k at the current outer indices.
  std::function<void(size_t, std::vector<llvm::Value *>)> nest =
      [&](size_t d, std::vector<llvm::Value *> offsets) {
        if (d + 1 < dims.size()) {
          ctx.emitLoop(0, dims[d].size, 1, [&](llvm::Value *iv) {
            std::vector<llvm::Value *> next = offsets;
            for (size_t k = 0; k <= n; ++k)
              if (dims[d].strides[k] != 0)
                next[k] = b.CreateAdd(
                    offsets[k], b.CreateMul(iv, ctx.i64(dims[d].strides[k])));
            nest(d + 1, next);
          }, "d" + std::to_string(d));
          return;
        }
        // The innermost dim: broadcast operands are loaded once.
        std::vector<llvm::Value *> splats(n, nullptr);
        for (size_t k = 0; k < n; ++k)
          if (inner.strides[k] == 0)
            splats[k] = ctx.load(types[k], types[k], ptrs[k], offsets[k]);
        auto body = [&](llvm::Value *j, int lanes) {
          std::vector<llvm::Value *> args;
          for (size_t k = 0; k < n; ++k) {
            if (splats[k]) {
              args.push_back(lanes == 1 ? splats[k]
                                        : b.CreateVectorSplat(lanes, splats[k]));
              continue;
            }
            llvm::Value *idx = b.CreateAdd(
                offsets[k], inner.strides[k] == 1
                                ? j
                                : b.CreateMul(j, ctx.i64(inner.strides[k])));
            args.push_back(ctx.load(ctx.vectorOf(types[k], lanes), types[k],
                                    ptrs[k], idx));
          }
          llvm::Value *r = fn(ctx, args);
          ctx.store(r, resultType, outPtr, b.CreateAdd(offsets[n], j));
        };
        int64_t vectorEnd = vectorizable ? inner.size / w * w : 0;
        ctx.emitLoop(0, vectorEnd, w, [&](llvm::Value *j) { body(j, w); }, "v");
        ctx.emitLoop(vectorEnd, inner.size, 1, [&](llvm::Value *j) { body(j, 1); },
                     "s");
      };
  nest(0, std::vector<llvm::Value *>(n + 1, ctx.i64(0)));
  ctx.finish();
}

// ----- Small IR helpers ------------------------------------------------------

using vmath::expF32;
using vmath::fconst;
using vmath::fmuladd;
using vmath::nanMax;
using vmath::nanMin;
using vmath::toDouble;
using vmath::toFloat;
using vmath::withElement;

llvm::Value *iconst(llvm::Value *like, int64_t v) {
  return llvm::ConstantInt::get(like->getType(), static_cast<uint64_t>(v),
                                /*IsSigned=*/true);
}
llvm::Value *toBool(Builder &b, llvm::Value *i1) {
  return b.CreateZExt(i1, withElement(i1, b.getInt8Ty()));
}
llvm::Value *unaryIntrinsic(Builder &b, llvm::Intrinsic::ID id, llvm::Value *x) {
  return b.CreateIntrinsic(id, {x->getType()}, {x});
}
/// Calls libm's double `name` on an f32 value, rounding the result once.
llvm::Value *libmF32(LoweringContext &ctx, const std::string &name, llvm::Value *x) {
  return toFloat(ctx.b(), ctx.callLibm(name, toDouble(ctx.b(), x)));
}


/// 1 / (1 + e^-x) computed from e = e^-|x| <= 1: 1/(1+e) for x >= 0 and
/// e/(1+e) below, so that no cancellation or overflow occurs. `lo`, when
/// given, is a small correction to x (x + lo is the true argument, |lo| at
/// most half an ulp of x): e^-|x+lo| = e^-|x| (1 -+ lo) to first order.
llvm::Value *sigmoidF32(Builder &b, llvm::Value *x, llvm::Value *lo = nullptr) {
  llvm::Value *e = expF32(b, b.CreateFNeg(unaryIntrinsic(b, llvm::Intrinsic::fabs, x)));
  llvm::Value *positive = b.CreateFCmpOGE(x, fconst(x, 0.0));
  if (lo) {
    llvm::Value *signedLo = b.CreateSelect(positive, b.CreateFNeg(lo), lo);
    e = fmuladd(b, e, signedLo, e);
  }
  llvm::Value *den = b.CreateFAdd(fconst(x, 1.0), e);
  llvm::Value *num = b.CreateSelect(positive, fconst(x, 1.0), e);
  return b.CreateFDiv(num, den);
}

/// Cephes tanhf: an odd polynomial for |x| <= 0.625, else 1 - 2/(e^2|x| + 1)
/// with x's sign.
llvm::Value *tanhF32(Builder &b, llvm::Value *x) {
  llvm::Value *ax = unaryIntrinsic(b, llvm::Intrinsic::fabs, x);
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

bool isSigned(DType t) { return isSignedInteger(t); }

// ----- Op families -----------------------------------------------------------

/// A unary op on f32 only.
absl::Status lowerUnaryF32(const Op &op, LoweringContext &ctx,
                           std::function<llvm::Value *(LoweringContext &, llvm::Value *)> f) {
  if (op.operand(0)->type.dtype != DType::F32)
    return unsupported(op, std::string(dtypeName(op.operand(0)->type.dtype)));
  llvm::Type *t = ctx.b().getFloatTy();
  emitElementwise(ctx, {t}, t,
                  [&](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
                    return f(c, a[0]);
                  });
  return absl::OkStatus();
}

/// An op whose operands and result have one element type each, from dtypes.
absl::Status lowerWithTypes(const Op &op, LoweringContext &ctx,
                            const ComputeFn &fn) {
  std::vector<llvm::Type *> types;
  for (size_t i = 0; i < op.operands.size(); ++i) {
    std::optional<llvm::Type *> t = ctx.scalarType(op.operand(i)->type.dtype);
    if (!t)
      return unsupported(op, std::string(dtypeName(op.operand(i)->type.dtype)));
    types.push_back(*t);
  }
  std::optional<llvm::Type *> rt = ctx.scalarType(op.result(0)->type.dtype);
  if (!rt)
    return unsupported(op, std::string(dtypeName(op.result(0)->type.dtype)));
  emitElementwise(ctx, types, *rt, fn);
  return absl::OkStatus();
}

/// A binary arithmetic op: `ff` for f32, `fi(signed)` for integers (nullptr:
/// not lowered for integers).
absl::Status lowerBinary(const Op &op, LoweringContext &ctx,
                         std::function<llvm::Value *(Builder &, llvm::Value *, llvm::Value *)> ff,
                         std::function<llvm::Value *(Builder &, llvm::Value *, llvm::Value *, bool)> fi) {
  DType dt = op.operand(0)->type.dtype;
  if (!isFloat(dt) && !fi)
    return unsupported(op, std::string(dtypeName(dt)) +
                               " (integer errors need the interpreter)");
  bool sign = isSigned(dt);
  return lowerWithTypes(op, ctx, [&](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    return isFloat(dt) ? ff(c.b(), a[0], a[1]) : fi(c.b(), a[0], a[1], sign);
  });
}

absl::Status lowerCompare(const Op &op, LoweringContext &ctx,
                          llvm::CmpInst::Predicate fp, llvm::CmpInst::Predicate si,
                          llvm::CmpInst::Predicate ui) {
  DType dt = op.operand(0)->type.dtype;
  return lowerWithTypes(op, ctx, [&](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    Builder &b = c.b();
    llvm::Value *cmp = isFloat(dt) ? b.CreateFCmp(fp, a[0], a[1])
                             : b.CreateICmp(isSigned(dt) ? si : ui, a[0], a[1]);
    return toBool(b, cmp);
  });
}

/// Clamps a double bound to an integer dtype's range ([ceil(lo)] or
/// [floor(hi)], as the reference does before saturating).
int64_t intBound(double v, bool upper, DType t) {
  double r = upper ? std::floor(v) : std::ceil(v);
  int64_t lo, hi;
  switch (t) {
  case DType::I8: lo = -128; hi = 127; break;
  case DType::U8: lo = 0; hi = 255; break;
  case DType::I32: lo = std::numeric_limits<int32_t>::min(); hi = std::numeric_limits<int32_t>::max(); break;
  default: lo = std::numeric_limits<int64_t>::min(); hi = std::numeric_limits<int64_t>::max(); break;
  }
  if (r <= static_cast<double>(lo))
    return lo;
  if (r >= static_cast<double>(hi))
    return hi;
  return static_cast<int64_t>(r);
}

} // namespace

// ----- Unary, float ----------------------------------------------------------

absl::Status lowerExp(const Op &op, LoweringContext &ctx) {
  return lowerUnaryF32(op, ctx, [](LoweringContext &c, llvm::Value *x) { return expF32(c.b(), x); });
}
absl::Status lowerLog(const Op &op, LoweringContext &ctx) {
  return lowerUnaryF32(op, ctx, [](LoweringContext &c, llvm::Value *x) { return libmF32(c, "log", x); });
}
absl::Status lowerSqrt(const Op &op, LoweringContext &ctx) {
  return lowerUnaryF32(op, ctx, [](LoweringContext &c, llvm::Value *x) {
    return unaryIntrinsic(c.b(), llvm::Intrinsic::sqrt, x);
  });
}
absl::Status lowerRsqrt(const Op &op, LoweringContext &ctx) {
  // 1/sqrt in f32 rounds twice; in double and rounded once it is the reference.
  return lowerUnaryF32(op, ctx, [](LoweringContext &c, llvm::Value *x) {
    Builder &b = c.b();
    llvm::Value *d = toDouble(b, x);
    return toFloat(b, b.CreateFDiv(fconst(d, 1.0),
                                   unaryIntrinsic(b, llvm::Intrinsic::sqrt, d)));
  });
}
absl::Status lowerReciprocal(const Op &op, LoweringContext &ctx) {
  return lowerUnaryF32(op, ctx, [](LoweringContext &c, llvm::Value *x) {
    return c.b().CreateFDiv(fconst(x, 1.0), x);
  });
}
absl::Status lowerTanh(const Op &op, LoweringContext &ctx) {
  return lowerUnaryF32(op, ctx, [](LoweringContext &c, llvm::Value *x) { return tanhF32(c.b(), x); });
}
absl::Status lowerSigmoid(const Op &op, LoweringContext &ctx) {
  return lowerUnaryF32(op, ctx, [](LoweringContext &c, llvm::Value *x) { return sigmoidF32(c.b(), x); });
}
absl::Status lowerErf(const Op &op, LoweringContext &ctx) {
  return lowerUnaryF32(op, ctx, [](LoweringContext &c, llvm::Value *x) { return libmF32(c, "erf", x); });
}
absl::Status lowerGelu(const Op &op, LoweringContext &ctx) {
  if (op.attrs.getString("approximate", "none") == "tanh") {
    // 0.5 x (1 + tanh(u)) = x sigmoid(2u): no cancellation for x < 0. The
    // sigmoid's condition number is about |2u|, so 2u is formed in double
    // and passed as an f32 pair (hi + lo).
    return lowerUnaryF32(op, ctx, [](LoweringContext &c, llvm::Value *x) {
      Builder &b = c.b();
      llvm::Value *d = toDouble(b, x);
      llvm::Value *d3 = b.CreateFMul(b.CreateFMul(d, d), d);
      llvm::Value *t = b.CreateFMul(
          fconst(d, 2.0 * std::sqrt(2.0 / std::numbers::pi)),
          b.CreateFAdd(d, b.CreateFMul(fconst(d, 0.044715), d3)));
      llvm::Value *hi = toFloat(b, t);
      llvm::Value *lo = toFloat(b, b.CreateFSub(t, toDouble(b, hi)));
      llvm::Value *finite = b.CreateFCmpONE(
          unaryIntrinsic(b, llvm::Intrinsic::fabs, hi), fconst(hi, INFINITY));
      lo = b.CreateSelect(finite, lo, fconst(lo, 0.0));
      return b.CreateFMul(x, sigmoidF32(b, hi, lo));
    });
  }
  // The reference's formula, in double, with libm's erf: bit-exact.
  return lowerUnaryF32(op, ctx, [](LoweringContext &c, llvm::Value *x) {
    Builder &b = c.b();
    llvm::Value *d = toDouble(b, x);
    llvm::Value *e = c.callLibm("erf", b.CreateFDiv(d, fconst(d, std::sqrt(2.0))));
    return toFloat(b, b.CreateFMul(b.CreateFMul(fconst(d, 0.5), d),
                                   b.CreateFAdd(fconst(d, 1.0), e)));
  });
}
absl::Status lowerRound(const Op &op, LoweringContext &ctx) {
  return lowerUnaryF32(op, ctx, [](LoweringContext &c, llvm::Value *x) {
    return unaryIntrinsic(c.b(), llvm::Intrinsic::roundeven, x);
  });
}
absl::Status lowerLeakyRelu(const Op &op, LoweringContext &ctx) {
  double alpha = op.attrs.getFloat("alpha", 0.01);
  // alpha * x rounds once in the reference; in f32 that needs alpha to be
  // an f32, else the product is formed in double.
  bool exactInF32 = static_cast<double>(static_cast<float>(alpha)) == alpha;
  return lowerUnaryF32(op, ctx, [=](LoweringContext &c, llvm::Value *x) {
    Builder &b = c.b();
    llvm::Value *scaled =
        exactInF32 ? b.CreateFMul(fconst(x, alpha), x)
                   : toFloat(b, b.CreateFMul(fconst(toDouble(b, x), alpha),
                                             toDouble(b, x)));
    return b.CreateSelect(b.CreateFCmpOGT(x, fconst(x, 0.0)), x, scaled);
  });
}

// ----- Unary, any number type -------------------------------------------------

absl::Status lowerNeg(const Op &op, LoweringContext &ctx) {
  DType dt = op.operand(0)->type.dtype;
  return lowerWithTypes(op, ctx, [dt](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    return isFloat(dt) ? c.b().CreateFNeg(a[0])
                       : c.b().CreateSub(iconst(a[0], 0), a[0]);
  });
}
absl::Status lowerAbs(const Op &op, LoweringContext &ctx) {
  DType dt = op.operand(0)->type.dtype;
  return lowerWithTypes(op, ctx, [dt](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    Builder &b = c.b();
    if (isFloat(dt))
      return unaryIntrinsic(b, llvm::Intrinsic::fabs, a[0]);
    if (!isSigned(dt))
      return a[0];
    // abs(INT_MIN) wraps to INT_MIN (is_int_min_poison = false).
    return (llvm::Value *)b.CreateIntrinsic(llvm::Intrinsic::abs, {a[0]->getType()},
                             {a[0], b.getFalse()});
  });
}
absl::Status lowerRelu(const Op &op, LoweringContext &ctx) {
  DType dt = op.operand(0)->type.dtype;
  return lowerWithTypes(op, ctx, [dt](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    Builder &b = c.b();
    llvm::Value *x = a[0];
    if (isFloat(dt)) // relu(-0) = -0 and relu(NaN) = NaN, as the reference
      return b.CreateSelect(b.CreateFCmpOLT(x, fconst(x, 0.0)), fconst(x, 0.0), x);
    if (!isSigned(dt))
      return x;
    return b.CreateSelect(b.CreateICmpSLT(x, iconst(x, 0)), iconst(x, 0), x);
  });
}
absl::Status lowerClip(const Op &op, LoweringContext &ctx) {
  DType dt = op.operand(0)->type.dtype;
  bool hasMin = op.attrs.has("min"), hasMax = op.attrs.has("max");
  double lo = op.attrs.getFloat("min"), hi = op.attrs.getFloat("max");
  return lowerWithTypes(op, ctx, [=](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    Builder &b = c.b();
    llvm::Value *v = a[0];
    if (isFloat(dt)) {
      // Comparing with the bounds rounded to f32 picks the same result as
      // comparing in double (rounding is monotonic), and the bound itself
      // is rounded on store in the reference.
      if (hasMin)
        v = nanMax(b, v, fconst(v, static_cast<float>(lo)));
      if (hasMax)
        v = nanMin(b, v, fconst(v, static_cast<float>(hi)));
      return v;
    }
    bool s = isSigned(dt);
    if (hasMin) {
      llvm::Value *l = iconst(v, intBound(lo, false, dt));
      v = b.CreateSelect(s ? b.CreateICmpSLT(v, l) : b.CreateICmpULT(v, l), l, v);
    }
    if (hasMax) {
      llvm::Value *h = iconst(v, intBound(hi, true, dt));
      v = b.CreateSelect(s ? b.CreateICmpSGT(v, h) : b.CreateICmpUGT(v, h), h, v);
    }
    return v;
  });
}

// ----- Binary ------------------------------------------------------------------

absl::Status lowerAdd(const Op &op, LoweringContext &ctx) {
  return lowerBinary(
      op, ctx, [](Builder &b, llvm::Value *x, llvm::Value *y) { return b.CreateFAdd(x, y); },
      [](Builder &b, llvm::Value *x, llvm::Value *y, bool) { return b.CreateAdd(x, y); });
}
absl::Status lowerSub(const Op &op, LoweringContext &ctx) {
  return lowerBinary(
      op, ctx, [](Builder &b, llvm::Value *x, llvm::Value *y) { return b.CreateFSub(x, y); },
      [](Builder &b, llvm::Value *x, llvm::Value *y, bool) { return b.CreateSub(x, y); });
}
absl::Status lowerMul(const Op &op, LoweringContext &ctx) {
  return lowerBinary(
      op, ctx, [](Builder &b, llvm::Value *x, llvm::Value *y) { return b.CreateFMul(x, y); },
      [](Builder &b, llvm::Value *x, llvm::Value *y, bool) { return b.CreateMul(x, y); });
}
absl::Status lowerDiv(const Op &op, LoweringContext &ctx) {
  return lowerBinary(
      op, ctx, [](Builder &b, llvm::Value *x, llvm::Value *y) { return b.CreateFDiv(x, y); },
      nullptr);
}
absl::Status lowerPow(const Op &op, LoweringContext &ctx) {
  if (op.operand(0)->type.dtype != DType::F32)
    return unsupported(op, std::string(dtypeName(op.operand(0)->type.dtype)));
  return lowerWithTypes(op, ctx, [](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    Builder &b = c.b();
    return toFloat(b, c.callLibm2("pow", toDouble(b, a[0]), toDouble(b, a[1])));
  });
}
absl::Status lowerMax(const Op &op, LoweringContext &ctx) {
  return lowerBinary(op, ctx, nanMax, [](Builder &b, llvm::Value *x, llvm::Value *y, bool s) {
    return b.CreateSelect(s ? b.CreateICmpSLT(x, y) : b.CreateICmpULT(x, y), y, x);
  });
}
absl::Status lowerMin(const Op &op, LoweringContext &ctx) {
  return lowerBinary(op, ctx, nanMin, [](Builder &b, llvm::Value *x, llvm::Value *y, bool s) {
    return b.CreateSelect(s ? b.CreateICmpSLT(y, x) : b.CreateICmpULT(y, x), y, x);
  });
}

// ----- Compare and logic -------------------------------------------------------

absl::Status lowerEq(const Op &op, LoweringContext &ctx) {
  return lowerCompare(op, ctx, llvm::CmpInst::FCMP_OEQ, llvm::CmpInst::ICMP_EQ,
                      llvm::CmpInst::ICMP_EQ);
}
absl::Status lowerLt(const Op &op, LoweringContext &ctx) {
  return lowerCompare(op, ctx, llvm::CmpInst::FCMP_OLT, llvm::CmpInst::ICMP_SLT,
                      llvm::CmpInst::ICMP_ULT);
}
absl::Status lowerLe(const Op &op, LoweringContext &ctx) {
  return lowerCompare(op, ctx, llvm::CmpInst::FCMP_OLE, llvm::CmpInst::ICMP_SLE,
                      llvm::CmpInst::ICMP_ULE);
}
absl::Status lowerGt(const Op &op, LoweringContext &ctx) {
  return lowerCompare(op, ctx, llvm::CmpInst::FCMP_OGT, llvm::CmpInst::ICMP_SGT,
                      llvm::CmpInst::ICMP_UGT);
}
absl::Status lowerGe(const Op &op, LoweringContext &ctx) {
  return lowerCompare(op, ctx, llvm::CmpInst::FCMP_OGE, llvm::CmpInst::ICMP_SGE,
                      llvm::CmpInst::ICMP_UGE);
}
absl::Status lowerNot(const Op &op, LoweringContext &ctx) {
  return lowerWithTypes(op, ctx, [](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    return toBool(c.b(), c.b().CreateICmpEQ(a[0], iconst(a[0], 0)));
  });
}
absl::Status lowerAnd(const Op &op, LoweringContext &ctx) {
  return lowerWithTypes(op, ctx, [](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    Builder &b = c.b();
    return toBool(b, b.CreateAnd(b.CreateICmpNE(a[0], iconst(a[0], 0)),
                                 b.CreateICmpNE(a[1], iconst(a[1], 0))));
  });
}
absl::Status lowerOr(const Op &op, LoweringContext &ctx) {
  return lowerWithTypes(op, ctx, [](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    Builder &b = c.b();
    return toBool(b, b.CreateOr(b.CreateICmpNE(a[0], iconst(a[0], 0)),
                                b.CreateICmpNE(a[1], iconst(a[1], 0))));
  });
}
absl::Status lowerWhere(const Op &op, LoweringContext &ctx) {
  // Values move as integers of their size: exact bytes for every dtype.
  llvm::Type *t = ctx.b().getIntNTy(8 * dtypeSize(op.result(0)->type.dtype));
  emitElementwise(ctx, {ctx.b().getInt8Ty(), t, t}, t,
                  [](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
                    Builder &b = c.b();
                    return b.CreateSelect(b.CreateICmpNE(a[0], iconst(a[0], 0)),
                                          a[1], a[2]);
                  });
  return absl::OkStatus();
}

// ----- Cast ----------------------------------------------------------------------

absl::Status lowerCast(const Op &op, LoweringContext &ctx) {
  DType from = op.operand(0)->type.dtype, to = op.result(0)->type.dtype;
  return lowerWithTypes(op, ctx, [=](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    Builder &b = c.b();
    llvm::Value *x = a[0];
    llvm::Type *dst = withElement(x, *c.scalarType(to));
    if (from == to)
      return x;
    if (to == DType::Bool)
      return toBool(b, isFloat(from) ? b.CreateFCmpUNE(x, fconst(x, 0.0))
                                     : b.CreateICmpNE(x, iconst(x, 0)));
    if (isFloat(from)) {
      if (isFloat(to))
        return x;
      // Truncate toward zero, saturate, NaN -> 0: exactly the *.sat intrinsics.
      auto id = to == DType::U8 ? llvm::Intrinsic::fptoui_sat
                                : llvm::Intrinsic::fptosi_sat;
      return (llvm::Value *)b.CreateIntrinsic(id, {dst, x->getType()}, {x});
    }
    bool signedFrom = isSignedInteger(from);
    if (isFloat(to))
      return signedFrom ? b.CreateSIToFP(x, dst) : b.CreateUIToFP(x, dst);
    return signedFrom ? b.CreateSExtOrTrunc(x, dst) : b.CreateZExtOrTrunc(x, dst);
  });
}

} // namespace tcpu

namespace tcpu {

absl::Status lowerExpand(const Op &op, LoweringContext &ctx) {
  // A broadcast copy: the elementwise loop nest with the identity.
  llvm::Type *t = ctx.b().getIntNTy(8 * dtypeSize(op.result(0)->type.dtype));
  emitElementwise(ctx, {t}, t,
                  [](LoweringContext &, llvm::ArrayRef<llvm::Value *> a) { return a[0]; });
  return absl::OkStatus();
}

} // namespace tcpu
