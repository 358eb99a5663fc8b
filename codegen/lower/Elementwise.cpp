//===- Elementwise.cpp - Lowering of elementwise ops -----------------------===//
//
// Unary, binary, compare, logic, where, cast, clip, leaky_relu, gelu, relu.
// One loop-nest emitter (emitElementwise) handles NumPy broadcasting for all
// of them: dims of size 1 are dropped and adjacent dims whose strides agree
// in every operand are merged, so equal shapes become one flat loop; the
// innermost dim is vectorized with <W x T> (W = target.f32VectorWidth)
// loads for operands of stride 1 and a splat for broadcast ones (stride 0),
// and a scalar loop does the remainder. Each op supplies only a function
// from operand values (scalars or vectors) to the result value. The memory
// plan may give the result the buffer of a same-shape operand (in place,
// codegen/MemoryPlan.h): that is safe because every index is loaded before
// it is stored and no pointer is marked noalias; keep it so. Large nests run
// on the model's threads (emitParallelFor): a flat nest in contiguous
// vector-aligned ranges, others by outer indices and, when those are few,
// blocks of the innermost dim; each index still belongs to one task, which
// loads it before storing it, so in place stays safe. Integer div and pow
// are threaded too: their failIf in a task makes the kernel return the code
// after the loop.
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
// - integers: div truncates toward zero, pow squares and multiplies with
//   wrapping, as the reference; a zero divisor and zero to a negative power
//   make the kernel return a KernelError (the run fails naming the op).
// - f16 and bf16: widened to f32 on load (exact); each op computes the
//   reference's formula in double (the same libm calls, lane by lane), rounds
//   to odd at f32 and then to nearest even at 16 bits on store, which is
//   exactly the reference's one rounding from double: bit-exact for every op.
//   Selections (neg, abs, relu, max, min, clip, compare) work on the f32
//   values, also exact.
//
//===----------------------------------------------------------------------===//
#include "codegen/lower/Elementwise.h"
#include "codegen/Lowering.h"
#include "codegen/lower/LowPrecision.h"
#include "codegen/lower/VectorMath.h"
#include "ir/IntMath.h"
#include "ir/ops/OpSupport.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"

#include <algorithm>
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

/// Set by elementwiseSignature/emitElementwiseOp (Elementwise.h) around a
/// call of an op's lowering: emitElementwise then records the op's types
/// and, unless describeOnly, applies its compute function to `args` in place
/// of emitting a loop nest.
struct Capture {
  bool describeOnly = true;
  llvm::ArrayRef<llvm::Value *> args;
  ElementwiseSignature signature;
  llvm::Value *result = nullptr;
};
thread_local Capture *capture = nullptr;

/// Nests of at most this many result elements stay on the calling thread
/// (no runtime call), and a task gets at least this many. Measured with
/// tcpu-run --benchmark on f32 adds in cache: a 2-task split costs about
/// 1 us of fork and join (8K elements: 1.33 us inline, 1.72 us split), and
/// an add runs about 9 elements per ns, so the split only pays from about
/// 32K elements on (more for cheap ops on a loaded machine; less for
/// transcendentals, which stay conservative here).
constexpr int64_t kParallelGrainElements = 32768;
/// Units the nest is cut into for threads when its outer dims are few (so
/// that 4 tasks per thread balance on up to 16 threads).
constexpr int64_t kParallelUnits = 64;

/// How the nest is split over threads: the parallel index u runs over
/// `units`; it stands for indices of the outer dims [0, outerDepth) and,
/// when innerBlock > 0, for a block of innerBlock elements of the innermost
/// dim (a multiple of the vector width, so that only the last block of a
/// row has a scalar remainder).
struct ParallelSplit {
  size_t outerDepth = 0;
  int64_t innerBlock = 0;
  int64_t innerBlocks = 1;
  int64_t units = 1;
};

ParallelSplit planSplit(const std::vector<Dim> &dims, int vectorStep) {
  ParallelSplit s;
  const Dim &inner = dims.back();
  if (dims.size() == 1) { // flat: units of one vector, contiguous per task
    s.innerBlock = vectorStep;
  } else {
    while (s.outerDepth + 1 < dims.size() && s.units < kParallelUnits)
      s.units *= dims[s.outerDepth++].size;
    if (s.units >= kParallelUnits)
      return s;
    int64_t pieces = ceilDiv(kParallelUnits, s.units);
    int64_t block = ceilDiv(inner.size, pieces);
    s.innerBlock = roundUp(block, vectorStep);
  }
  s.innerBlocks = ceilDiv(inner.size, s.innerBlock);
  s.units *= s.innerBlocks;
  return s;
}

/// The loop nest for op's result (result 0), reading operands through
/// `types` (LLVM element types of memory) and writing `resultType`.
/// `dtypes`, when given, holds the dtype of each operand and then of the
/// result: f16/bf16 operands reach `fn` widened to f32, and an f16/bf16
/// result is computed by `fn` as f32 and rounded to nearest even on store.
/// Above kParallelGrainElements the nest runs on the model's threads
/// (ParallelSplit); ops that fail (integer div, pow) use failIf there too.
void emitElementwise(LoweringContext &ctx, const std::vector<llvm::Type *> &types,
                     llvm::Type *resultType, const ComputeFn &fn,
                     const std::vector<DType> &dtypes = {}) {
  if (capture) { // an op of a fused loop: no loop of its own
    capture->signature = {types, resultType, dtypes};
    if (!capture->describeOnly)
      capture->result = fn(ctx, capture->args);
    return;
  }
  const Op &op = ctx.op();
  auto halfAt = [&](size_t k) {
    return k < dtypes.size() && lowp::isHalf(dtypes[k]) ? std::optional(dtypes[k])
                                                        : std::nullopt;
  };
  auto widened = [&](size_t k, llvm::Value *v) {
    std::optional<DType> h = halfAt(k);
    return h ? lowp::widen(ctx.b(), v, *h) : v;
  };
  const Shape &out = op.result(0)->type.shape;
  Builder &b = ctx.b();
  size_t n = types.size();
  std::vector<std::vector<int64_t>> strides;
  for (size_t k = 0; k < n; ++k)
    strides.push_back(broadcastStrides(op.operand(k)->type.shape, out));
  strides.push_back(broadcastStrides(out, out));
  const int64_t total = op.result(0)->type.numElements();
  if (total == 0) {
    ctx.finish();
    return;
  }
  std::vector<Dim> dims = coalesce(out, strides);
  int w = ctx.vectorWidth();
  const Dim &inner = dims.back();
  bool vectorizable = w > 1 && inner.size >= w;
  for (size_t k = 0; k < n; ++k)
    vectorizable &= inner.strides[k] == 0 || inner.strides[k] == 1;
  const int64_t step = vectorizable ? w : 1;

  // The data pointers, loaded in the function being emitted (the kernel, or
  // the outlined parallel body, where the kernel's values are not usable).
  std::vector<llvm::Value *> ptrs(n + 1);
  auto loadPtrs = [&] {
    for (size_t k = 0; k < n; ++k)
      ptrs[k] = ctx.operandPtr(k);
    ptrs[n] = ctx.resultPtr(0);
  };
  auto advance = [&](std::vector<llvm::Value *> &offsets, const Dim &dim,
                     llvm::Value *iv) {
    for (size_t k = 0; k <= n; ++k)
      if (dim.strides[k] != 0)
        offsets[k] = b.CreateAdd(offsets[k], b.CreateMul(iv, ctx.i64(dim.strides[k])));
  };
  // The innermost dim over [begin, end); begin is a multiple of `step`.
  // offsets[k]: element offset of array k at the current outer indices.
  auto innerLoop = [&](const std::vector<llvm::Value *> &offsets,
                       llvm::Value *begin, llvm::Value *end) {
    // Broadcast operands are loaded once.
    std::vector<llvm::Value *> splats(n, nullptr);
    for (size_t k = 0; k < n; ++k)
      if (inner.strides[k] == 0)
        splats[k] = widened(k, ctx.load(types[k], types[k], ptrs[k], offsets[k]));
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
        args.push_back(widened(k, ctx.load(ctx.vectorOf(types[k], lanes),
                                           types[k], ptrs[k], idx)));
      }
      llvm::Value *r = fn(ctx, args);
      if (std::optional<DType> h = halfAt(n))
        r = lowp::narrow(b, r, *h);
      ctx.store(r, resultType, ptrs[n], b.CreateAdd(offsets[n], j));
    };
    auto *cb = llvm::dyn_cast<llvm::ConstantInt>(begin);
    auto *ce = llvm::dyn_cast<llvm::ConstantInt>(end);
    if (cb && ce) { // bounds known: constant trip counts
      int64_t lo = cb->getSExtValue(), hi = ce->getSExtValue();
      int64_t vectorEnd = vectorizable ? lo + (hi - lo) / w * w : lo;
      ctx.emitLoop(lo, vectorEnd, w, [&](llvm::Value *j) { body(j, w); }, "v");
      ctx.emitLoop(vectorEnd, hi, 1, [&](llvm::Value *j) { body(j, 1); }, "s");
      return;
    }
    llvm::Value *vectorEnd = begin;
    if (vectorizable)
      vectorEnd = b.CreateAdd(
          begin, b.CreateMul(b.CreateUDiv(b.CreateSub(end, begin), ctx.i64(w)),
                             ctx.i64(w)));
    ctx.emitLoop(begin, vectorEnd, w, [&](llvm::Value *j) { body(j, w); }, "v");
    ctx.emitLoop(vectorEnd, end, 1, [&](llvm::Value *j) { body(j, 1); }, "s");
  };
  // Dims [d, end) at the outer offsets, serially.
  std::function<void(size_t, std::vector<llvm::Value *>)> nest =
      [&](size_t d, std::vector<llvm::Value *> offsets) {
        if (d + 1 < dims.size()) {
          ctx.emitLoop(0, dims[d].size, 1, [&](llvm::Value *iv) {
            std::vector<llvm::Value *> next = offsets;
            advance(next, dims[d], iv);
            nest(d + 1, next);
          }, "d" + std::to_string(d));
          return;
        }
        innerLoop(offsets, ctx.i64(0), ctx.i64(inner.size));
      };
  const std::vector<llvm::Value *> origin(n + 1, ctx.i64(0));
  if (total <= kParallelGrainElements) {
    loadPtrs();
    nest(0, origin);
    ctx.finish();
    return;
  }

  // Threads. Each result index is written by one task, which loads every
  // operand at that index first: in place stays safe.
  ParallelSplit split = planSplit(dims, step);
  int64_t perUnit = std::max<int64_t>(total / split.units, 1);
  std::vector<llvm::Value *> captured;
  ctx.emitParallelFor(
      split.units, ceilDiv(kParallelGrainElements, perUnit), captured,
      [&](llvm::Value *first, llvm::Value *last) {
        loadPtrs();
        auto innerEnd = [&](llvm::Value *blockEnd) {
          return b.CreateBinaryIntrinsic(llvm::Intrinsic::smin,
                                         b.CreateMul(blockEnd, ctx.i64(split.innerBlock)),
                                         ctx.i64(inner.size));
        };
        if (dims.size() == 1) { // one contiguous range per task
          innerLoop(origin, b.CreateMul(first, ctx.i64(split.innerBlock)),
                    innerEnd(last));
          return;
        }
        ctx.emitLoop(first, last, 1, [&](llvm::Value *u) {
          std::vector<llvm::Value *> offsets = origin;
          llvm::Value *rest = u, *block = nullptr;
          if (split.innerBlock > 0) {
            block = b.CreateURem(rest, ctx.i64(split.innerBlocks));
            rest = b.CreateUDiv(rest, ctx.i64(split.innerBlocks));
          }
          for (size_t d = split.outerDepth; d-- > 0;) {
            llvm::Value *iv =
                d == 0 ? rest : b.CreateURem(rest, ctx.i64(dims[d].size));
            if (d > 0)
              rest = b.CreateUDiv(rest, ctx.i64(dims[d].size));
            advance(offsets, dims[d], iv);
          }
          if (!block) {
            nest(split.outerDepth, offsets);
            return;
          }
          innerLoop(offsets, b.CreateMul(block, ctx.i64(split.innerBlock)),
                    innerEnd(b.CreateAdd(block, ctx.i64(1))));
        }, "unit");
      });
  ctx.finish();
}

// ----- Small IR helpers ------------------------------------------------------

using vmath::expF32;
using vmath::fconst;
using vmath::fmuladd;
using vmath::nanMax;
using vmath::sigmoidF32;
using vmath::tanhF32;
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


bool isSigned(DType t) { return isSignedInteger(t); }

// ----- Op families -----------------------------------------------------------

using UnaryFn = std::function<llvm::Value *(LoweringContext &, llvm::Value *)>;

/// A unary op on a float dtype. f32 lanes go through `f32`; for f16 and
/// bf16, `f64` evaluates the reference's formula on double lanes (with the
/// same libm functions), rounded to odd at f32 and then to nearest even at
/// 16 bits on store: exactly the reference's result.
absl::Status lowerUnaryFloat(const Op &op, LoweringContext &ctx, UnaryFn f32,
                             UnaryFn f64) {
  DType dt = op.operand(0)->type.dtype;
  if (!isFloat(dt))
    return unsupported(op, std::string(dtypeName(dt)));
  llvm::Type *t = lowp::storageType(ctx, dt);
  emitElementwise(
      ctx, {t}, t,
      [&](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
        if (dt == DType::F32)
          return f32(c, a[0]);
        Builder &b = c.b();
        return lowp::roundToOddF32(b, f64(c, toDouble(b, a[0])));
      },
      {dt, dt});
  return absl::OkStatus();
}

/// f32 lanes through a double formula, rounded once.
UnaryFn viaDouble(UnaryFn f64) {
  return [f64](LoweringContext &c, llvm::Value *x) {
    return toFloat(c.b(), f64(c, toDouble(c.b(), x)));
  };
}

/// An op whose operands and result have one element type each, from dtypes;
/// f16/bf16 values reach `fn` as f32 (see emitElementwise).
absl::Status lowerWithTypes(const Op &op, LoweringContext &ctx,
                            const ComputeFn &fn) {
  std::vector<llvm::Type *> types;
  std::vector<DType> dtypes;
  for (size_t i = 0; i < op.operands.size(); ++i) {
    dtypes.push_back(op.operand(i)->type.dtype);
    types.push_back(lowp::storageType(ctx, dtypes.back()));
  }
  dtypes.push_back(op.result(0)->type.dtype);
  emitElementwise(ctx, types, lowp::storageType(ctx, dtypes.back()), fn, dtypes);
  return absl::OkStatus();
}

using FloatBinaryFn = std::function<llvm::Value *(Builder &, llvm::Value *, llvm::Value *)>;
using IntBinaryFn =
    std::function<llvm::Value *(LoweringContext &, llvm::Value *, llvm::Value *, bool)>;

/// A binary arithmetic op: `ff` for floats (f32 lanes; for f16/bf16 double
/// lanes rounded to odd, as the reference computes), `fi(signed)` for
/// integers.
absl::Status lowerBinary(const Op &op, LoweringContext &ctx, FloatBinaryFn ff,
                         IntBinaryFn fi) {
  DType dt = op.operand(0)->type.dtype;
  bool sign = isSigned(dt);
  return lowerWithTypes(op, ctx, [&](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    Builder &b = c.b();
    if (dt == DType::F32)
      return ff(b, a[0], a[1]);
    if (lowp::isHalf(dt))
      return lowp::roundToOddF32(b, ff(b, toDouble(b, a[0]), toDouble(b, a[1])));
    return fi(c, a[0], a[1], sign);
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
int64_t intBound(double v, bool upper, DType t);

/// `v` as the reference stores it in float dtype `t` (ops::storeDouble:
/// for f16/bf16 through round to odd), as an f32 value.
float storedAs(double v, DType t) {
  absl::StatusOr<Tensor> s = Tensor::allocate(TensorType(t, {}));
  if (!s.ok())
    return static_cast<float>(v);
  ops::storeDouble(*s, 0, v);
  return static_cast<float>(s->elementAsDouble(0));
}

/// True when any lane of the i1 value `v` is.
llvm::Value *anyLane(Builder &b, llvm::Value *v) {
  return v->getType()->isVectorTy() ? b.CreateOrReduce(v) : v;
}

/// The reference's integer division: truncation toward zero; a zero
/// divisor is an error; x / -1 is computed as 0 - x, so INT_MIN / -1 wraps
/// to INT_MIN instead of trapping (idiv faults on x86).
llvm::Value *intDiv(LoweringContext &c, llvm::Value *x, llvm::Value *y, bool s) {
  Builder &b = c.b();
  c.failIf(anyLane(b, b.CreateICmpEQ(y, iconst(y, 0))), KernelError::DivisionByZero);
  if (!s)
    return b.CreateUDiv(x, y);
  llvm::Value *minusOne = b.CreateICmpEQ(y, iconst(y, -1));
  llvm::Value *q = b.CreateSDiv(x, b.CreateSelect(minusOne, iconst(y, 1), y));
  return b.CreateSelect(minusOne, b.CreateSub(iconst(x, 0), x), q);
}

/// The reference's integer pow: square and multiply with wrapping products
/// (wrapping in the dtype's width equals wrapping int64 then truncating),
/// all lanes together until every lane's exponent is used up. A negative
/// exponent gives 1 for base 1, +-1 for base -1 and 0 otherwise; zero to a
/// negative power is an error.
llvm::Value *intPow(LoweringContext &c, llvm::Value *base, llvm::Value *e, bool s) {
  Builder &b = c.b();
  llvm::Value *negative = nullptr, *rest = e;
  if (s) {
    negative = b.CreateICmpSLT(e, iconst(e, 0));
    c.failIf(anyLane(b, b.CreateAnd(negative, b.CreateICmpEQ(base, iconst(base, 0)))),
             KernelError::ZeroToNegativePower);
    rest = b.CreateSelect(negative, iconst(e, 0), e);
  }
  llvm::BasicBlock *pre = b.GetInsertBlock();
  llvm::BasicBlock *loop = llvm::BasicBlock::Create(c.llvm(), "pow.loop", c.function());
  llvm::BasicBlock *exit = llvm::BasicBlock::Create(c.llvm(), "pow.exit", c.function());
  b.CreateBr(loop);
  b.SetInsertPoint(loop);
  llvm::PHINode *result = b.CreatePHI(base->getType(), 2, "pow.result");
  llvm::PHINode *square = b.CreatePHI(base->getType(), 2, "pow.square");
  llvm::PHINode *bits = b.CreatePHI(e->getType(), 2, "pow.bits");
  result->addIncoming(iconst(base, 1), pre);
  square->addIncoming(base, pre);
  bits->addIncoming(rest, pre);
  llvm::Value *odd = b.CreateTrunc(bits, withElement(bits, b.getInt1Ty()));
  llvm::Value *nextResult = b.CreateSelect(odd, b.CreateMul(result, square), result);
  llvm::Value *nextBits = b.CreateLShr(bits, iconst(bits, 1));
  result->addIncoming(nextResult, loop);
  square->addIncoming(b.CreateMul(square, square), loop);
  bits->addIncoming(nextBits, loop);
  b.CreateCondBr(anyLane(b, b.CreateICmpNE(nextBits, iconst(bits, 0))), loop, exit);
  b.SetInsertPoint(exit);
  if (!negative)
    return nextResult;
  llvm::Value *one = iconst(base, 1), *minusOne = iconst(base, -1);
  llvm::Value *oddExponent = b.CreateTrunc(e, withElement(e, b.getInt1Ty()));
  llvm::Value *inverse = b.CreateSelect(
      b.CreateICmpEQ(base, one), one,
      b.CreateSelect(b.CreateICmpEQ(base, minusOne),
                     b.CreateSelect(oddExponent, minusOne, one), iconst(base, 0)));
  return b.CreateSelect(negative, inverse, nextResult);
}

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

// The double formulas are the reference's (ir/ops/Elementwise.cpp), operation
// for operation, so that f16/bf16 results are bit-exact.
llvm::Value *libm(LoweringContext &c, const char *name, llvm::Value *d) {
  return c.callLibm(name, d);
}
llvm::Value *sqrtOf(Builder &b, llvm::Value *x) {
  return unaryIntrinsic(b, llvm::Intrinsic::sqrt, x);
}
llvm::Value *sigmoidF64(LoweringContext &c, llvm::Value *d) {
  Builder &b = c.b();
  llvm::Value *e = libm(c, "exp", b.CreateFNeg(d));
  return b.CreateFDiv(fconst(d, 1.0), b.CreateFAdd(fconst(d, 1.0), e));
}
llvm::Value *geluErfF64(LoweringContext &c, llvm::Value *d) {
  Builder &b = c.b();
  llvm::Value *e = libm(c, "erf", b.CreateFDiv(d, fconst(d, std::sqrt(2.0))));
  return b.CreateFMul(b.CreateFMul(fconst(d, 0.5), d), b.CreateFAdd(fconst(d, 1.0), e));
}
llvm::Value *geluTanhF64(LoweringContext &c, llvm::Value *d) {
  Builder &b = c.b();
  llvm::Value *cube = b.CreateFMul(b.CreateFMul(b.CreateFMul(fconst(d, 0.044715), d), d), d);
  llvm::Value *t = libm(c, "tanh",
                        b.CreateFMul(fconst(d, std::sqrt(2.0 / std::numbers::pi)),
                                     b.CreateFAdd(d, cube)));
  return b.CreateFMul(b.CreateFMul(fconst(d, 0.5), d), b.CreateFAdd(fconst(d, 1.0), t));
}

absl::Status lowerExp(const Op &op, LoweringContext &ctx) {
  return lowerUnaryFloat(
      op, ctx, [](LoweringContext &c, llvm::Value *x) { return expF32(c.b(), x); },
      [](LoweringContext &c, llvm::Value *d) { return libm(c, "exp", d); });
}
absl::Status lowerLog(const Op &op, LoweringContext &ctx) {
  UnaryFn f64 = [](LoweringContext &c, llvm::Value *d) { return libm(c, "log", d); };
  return lowerUnaryFloat(op, ctx, viaDouble(f64), f64);
}
absl::Status lowerSqrt(const Op &op, LoweringContext &ctx) {
  UnaryFn f = [](LoweringContext &c, llvm::Value *x) { return sqrtOf(c.b(), x); };
  return lowerUnaryFloat(op, ctx, f, f);
}
absl::Status lowerRsqrt(const Op &op, LoweringContext &ctx) {
  // 1/sqrt in f32 rounds twice; in double and rounded once it is the reference.
  UnaryFn f64 = [](LoweringContext &c, llvm::Value *d) {
    return c.b().CreateFDiv(fconst(d, 1.0), sqrtOf(c.b(), d));
  };
  return lowerUnaryFloat(op, ctx, viaDouble(f64), f64);
}
absl::Status lowerReciprocal(const Op &op, LoweringContext &ctx) {
  UnaryFn f = [](LoweringContext &c, llvm::Value *x) {
    return c.b().CreateFDiv(fconst(x, 1.0), x);
  };
  return lowerUnaryFloat(op, ctx, f, f);
}
absl::Status lowerTanh(const Op &op, LoweringContext &ctx) {
  return lowerUnaryFloat(
      op, ctx, [](LoweringContext &c, llvm::Value *x) { return tanhF32(c.b(), x); },
      [](LoweringContext &c, llvm::Value *d) { return libm(c, "tanh", d); });
}
absl::Status lowerSigmoid(const Op &op, LoweringContext &ctx) {
  return lowerUnaryFloat(
      op, ctx, [](LoweringContext &c, llvm::Value *x) { return sigmoidF32(c.b(), x); },
      sigmoidF64);
}
absl::Status lowerErf(const Op &op, LoweringContext &ctx) {
  UnaryFn f64 = [](LoweringContext &c, llvm::Value *d) { return libm(c, "erf", d); };
  return lowerUnaryFloat(op, ctx, viaDouble(f64), f64);
}
absl::Status lowerGelu(const Op &op, LoweringContext &ctx) {
  if (op.attrs.getString("approximate", "none") == "tanh") {
    // 0.5 x (1 + tanh(u)) = x sigmoid(2u): no cancellation for x < 0. The
    // sigmoid's condition number is about |2u|, so 2u is formed in double
    // and passed as an f32 pair (hi + lo).
    UnaryFn f32 = [](LoweringContext &c, llvm::Value *x) {
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
    };
    return lowerUnaryFloat(op, ctx, f32, geluTanhF64);
  }
  // The reference's formula, in double, with libm's erf: bit-exact.
  return lowerUnaryFloat(op, ctx, viaDouble(geluErfF64), geluErfF64);
}
absl::Status lowerRound(const Op &op, LoweringContext &ctx) {
  UnaryFn f = [](LoweringContext &c, llvm::Value *x) {
    return unaryIntrinsic(c.b(), llvm::Intrinsic::roundeven, x);
  };
  return lowerUnaryFloat(op, ctx, f, f);
}
absl::Status lowerLeakyRelu(const Op &op, LoweringContext &ctx) {
  double alpha = op.attrs.getFloat("alpha", 0.01);
  UnaryFn f64 = [alpha](LoweringContext &c, llvm::Value *d) {
    Builder &b = c.b();
    return b.CreateSelect(b.CreateFCmpOGT(d, fconst(d, 0.0)), d,
                          b.CreateFMul(fconst(d, alpha), d));
  };
  // alpha * x rounds once in the reference; in f32 that needs alpha to be
  // an f32, else the product is formed in double.
  if (static_cast<double>(static_cast<float>(alpha)) != alpha)
    return lowerUnaryFloat(op, ctx, viaDouble(f64), f64);
  UnaryFn f32 = [alpha](LoweringContext &c, llvm::Value *x) {
    Builder &b = c.b();
    return b.CreateSelect(b.CreateFCmpOGT(x, fconst(x, 0.0)), x,
                          b.CreateFMul(fconst(x, alpha), x));
  };
  return lowerUnaryFloat(op, ctx, f32, f64);
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
  float storedLo = isFloat(dt) && hasMin ? storedAs(lo, dt) : 0.0f;
  float storedHi = isFloat(dt) && hasMax ? storedAs(hi, dt) : 0.0f;
  return lowerWithTypes(op, ctx, [=](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    Builder &b = c.b();
    llvm::Value *v = a[0];
    if (isFloat(dt)) {
      // Comparing with the bounds rounded to f32 picks the same result as
      // comparing in double (rounding is monotonic); the bound chosen is
      // stored as the reference stores it (for f16/bf16 through round to
      // odd). x is NaN: both compares are false and NaN stays.
      if (hasMin)
        v = b.CreateSelect(b.CreateFCmpOLT(v, fconst(v, static_cast<float>(lo))),
                           fconst(v, storedLo), v);
      if (hasMax)
        v = b.CreateSelect(b.CreateFCmpOLT(fconst(v, static_cast<float>(hi)), v),
                           fconst(v, storedHi), v);
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
      [](LoweringContext &c, llvm::Value *x, llvm::Value *y, bool) { return c.b().CreateAdd(x, y); });
}
absl::Status lowerSub(const Op &op, LoweringContext &ctx) {
  return lowerBinary(
      op, ctx, [](Builder &b, llvm::Value *x, llvm::Value *y) { return b.CreateFSub(x, y); },
      [](LoweringContext &c, llvm::Value *x, llvm::Value *y, bool) { return c.b().CreateSub(x, y); });
}
absl::Status lowerMul(const Op &op, LoweringContext &ctx) {
  return lowerBinary(
      op, ctx, [](Builder &b, llvm::Value *x, llvm::Value *y) { return b.CreateFMul(x, y); },
      [](LoweringContext &c, llvm::Value *x, llvm::Value *y, bool) { return c.b().CreateMul(x, y); });
}
absl::Status lowerDiv(const Op &op, LoweringContext &ctx) {
  return lowerBinary(
      op, ctx, [](Builder &b, llvm::Value *x, llvm::Value *y) { return b.CreateFDiv(x, y); },
      intDiv);
}
absl::Status lowerPow(const Op &op, LoweringContext &ctx) {
  DType dt = op.operand(0)->type.dtype;
  if (!isFloat(dt))
    return lowerBinary(op, ctx, nullptr, intPow);
  return lowerWithTypes(op, ctx, [dt](LoweringContext &c, llvm::ArrayRef<llvm::Value *> a) {
    Builder &b = c.b();
    return lowp::roundForStore(b, c.callLibm2("pow", toDouble(b, a[0]), toDouble(b, a[1])),
                               dt);
  });
}
absl::Status lowerMax(const Op &op, LoweringContext &ctx) {
  return lowerBinary(op, ctx, nanMax,
                     [](LoweringContext &c, llvm::Value *x, llvm::Value *y, bool s) {
                       Builder &b = c.b();
                       return b.CreateSelect(s ? b.CreateICmpSLT(x, y) : b.CreateICmpULT(x, y),
                                             y, x);
                     });
}
absl::Status lowerMin(const Op &op, LoweringContext &ctx) {
  return lowerBinary(op, ctx, nanMin,
                     [](LoweringContext &c, llvm::Value *x, llvm::Value *y, bool s) {
                       Builder &b = c.b();
                       return b.CreateSelect(s ? b.CreateICmpSLT(y, x) : b.CreateICmpULT(y, x),
                                             y, x);
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
    // f16/bf16 values are f32 here (widened on load, rounded on store).
    llvm::Type *dst = withElement(x, isFloat(to) ? b.getFloatTy() : *c.scalarType(to));
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
    if (lowp::isHalf(to)) // one rounding from the exact integer
      return lowp::intToF32RoundToOdd(b, x, signedFrom);
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

namespace tcpu {

namespace {
/// Runs op's lowering with `c` captured; restores the previous capture.
absl::Status runCaptured(const Op &op, LoweringContext &ctx, Capture &c) {
  if (!op.info().hasTrait(kElementwise))
    return absl::UnimplementedError("'" + std::string(op.mnemonic()) +
                                    "' is not elementwise");
  Capture *outer = capture;
  capture = &c;
  absl::Status s = loweringFor(op.kind())(op, ctx);
  capture = outer;
  return s;
}
} // namespace

absl::StatusOr<ElementwiseSignature> elementwiseSignature(const Op &op,
                                                          LoweringContext &ctx) {
  Capture c;
  if (absl::Status s = runCaptured(op, ctx, c); !s.ok())
    return s;
  return c.signature;
}

absl::StatusOr<llvm::Value *> emitElementwiseOp(const Op &op, LoweringContext &ctx,
                                                llvm::ArrayRef<llvm::Value *> args) {
  Capture c;
  c.describeOnly = false;
  c.args = args;
  if (absl::Status s = runCaptured(op, ctx, c); !s.ok())
    return s;
  if (!c.result)
    return absl::InternalError("'" + std::string(op.mnemonic()) +
                               "' emitted no value");
  return c.result;
}

void emitElementwiseLoop(
    LoweringContext &ctx, const std::vector<llvm::Type *> &operandTypes,
    llvm::Type *resultType,
    const std::function<llvm::Value *(llvm::ArrayRef<llvm::Value *>)> &compute) {
  emitElementwise(ctx, operandTypes, resultType,
                  [&](LoweringContext &, llvm::ArrayRef<llvm::Value *> a) {
                    return compute(a);
                  });
}

} // namespace tcpu
