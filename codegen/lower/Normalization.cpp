//===- Normalization.cpp - Lowering of softmax, log_softmax, layer_norm, batch_norm ===//
//
// Every float dtype: f16/bf16 are widened to f32 on load and rounded on
// store (see LowPrecision.h). Row kernels over
// [outer, n, inner] (n the softmax axis, or the normalized block of
// layer_norm): for inner == 1 each contiguous row is reduced with W-lane
// vectors (lanes combined at the end, scalar tail); for inner > 1 (softmax
// on a non-last axis) W adjacent columns are processed at once, walking the
// axis with stride inner.
//
// softmax / log_softmax, three passes per row: the max (NaN-propagating, so a
// NaN row stays NaN; +inf gives inf - inf = NaN, an all -inf row
// -inf - -inf = NaN, as the reference); sum of e^(x - max) accumulated in
// double, where x - max is formed exactly in double and split into f32
// hi + lo for the vectorized f32 exp (e^hi (1 + lo)), so the shift adds no
// error even for large inputs (~1e4); softmax stores e^(x - max) in pass 2
// and scales by the f32 reciprocal of the sum in pass 3; log_softmax
// computes (x - max) - log(sum) in double (one libm log per row).
// Error: a few ulp of the exp plus the rounding of 1/sum for softmax;
// log_softmax is within ~1e-6 absolute of the reference (the log of a sum of
// a few-ulp-accurate terms) -- see test/unit/codegen/RowKernelsCodegenTest.cpp.
//
// layer_norm: two passes like the reference (mean, then the mean of squared
// deviations), accumulated in double lanes, then y = (x - mean) * (1 /
// sqrt(var + eps)) [* scale] [+ bias] in double, rounded once: within 1 ulp
// of the reference. scale/bias of the full normalized shape or a single
// element are read directly; other broadcasts (e.g. [T, 1] of [T, C])
// through a constant table of element indices, one lane at a time.
//
// batch_norm: per (n, c), a = scale / sqrt(var + eps) and b = bias - mean * a
// in double, rounded to f32, then y = fma(x, a, b) over the H*W block. This
// is not the reference's rounding: the error is about 2^-23 (|x a| + |b|),
// large relative to y only where x a and b cancel. For f16/bf16 the
// reference's formula is evaluated in double instead and rounded once (to
// odd at f32, then to 16 bits): exact.
//
// f16/bf16 softmax recomputes e^(x - max) in pass 3 (the 16-bit output
// cannot hold it); both softmaxes are within 1 ulp of the 16-bit type.
//
//===----------------------------------------------------------------------===//
#include "codegen/lower/RowSupport.h"
#include "ir/IntMath.h"
#include "ir/ops/OpSupport.h"

#include "llvm/IR/GlobalVariable.h"

namespace tcpu {

namespace {

using namespace rows;


/// Rows go to threads in tasks of at least this many elements (a task
/// costs a few microseconds to start; a row kernel does a few ns of work per
/// element).
constexpr int64_t kMinTaskElements = int64_t(1) << 15;

/// Rows per task for rows of `elements` elements each.
int64_t rowGrain(int64_t elements) {
  return std::max<int64_t>(
      1, (kMinTaskElements + elements - 1) / std::max<int64_t>(elements, 1));
}

absl::Status lowerSoftmaxImpl(const Op &op, LoweringContext &ctx, bool logarithm) {
  const TensorType &xt = op.operand(0)->type;
  DType dt = xt.dtype; // a float dtype (inference)
  const Shape &shape = xt.shape;
  int64_t rank = static_cast<int64_t>(shape.size());
  int64_t axis = op.attrs.getInt("axis", -1);
  if (axis < 0)
    axis += rank;
  int64_t outer = product(shape, 0, axis), n = shape[axis],
          inner = product(shape, axis + 1, shape.size());
  Builder &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy(), *f64 = b.getDoubleTy();
  llvm::Value *in = ctx.operandPtr(0);
  llvm::Value *out = ctx.resultPtr(0);
  if (xt.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  StepFn maxStep = [](Builder &bb, llvm::Value *acc, llvm::Value *x, llvm::Value *) {
    return nanMax(bb, acc, x);
  };
  // The sum of e^(x - max) with max = `md` (double, splatted per lane).
  auto sumStep = [&](llvm::Value *md) -> StepFn {
    return [&, md](Builder &bb, llvm::Value *acc, llvm::Value *x,
                   llvm::Value *idx) -> llvm::Value * {
      llvm::Value *d = bb.CreateFSub(toDouble(bb, x), splatLike(bb, md, x));
      llvm::Value *e = expOfDoubleF32(bb, d);
      if (!logarithm && dt == DType::F32)
        ctx.store(e, f32, out, idx);
      return bb.CreateFAdd(acc, toDouble(bb, e));
    };
  };
  // Pass 3 on lanes at `idx`: md and sum are scalars (rows) or vectors of
  // the lanes (columns).
  auto finish = [&](llvm::Value *idx, int lanes, llvm::Value *md,
                    llvm::Value *scale) {
    llvm::Type *vt = ctx.vectorOf(f32, lanes);
    if (!logarithm) {
      // f16/bf16 cannot hold e^(x - max) exactly enough: recomputed.
      llvm::Value *e =
          dt == DType::F32
              ? ctx.load(vt, f32, out, idx)
              : expOfDoubleF32(b, b.CreateFSub(toDouble(b, lowp::loadF32(ctx, dt, lanes, in, idx)),
                                               md));
      lowp::storeF32(ctx, dt, b.CreateFMul(e, scale), out, idx);
      return;
    }
    llvm::Value *x = lowp::loadF32(ctx, dt, lanes, in, idx);
    llvm::Value *d = b.CreateFSub(toDouble(b, x), md);
    lowp::storeF32(ctx, dt, lowp::roundForStore(b, b.CreateFSub(d, scale), dt), out, idx);
  };
  // softmax: scale = f32(1 / sum); log_softmax: scale = log(sum) (double).
  auto scaleOf = [&](llvm::Value *sum) -> llvm::Value * {
    if (logarithm)
      return ctx.callLibm("log", sum);
    return toFloat(b, b.CreateFDiv(fconst(sum, 1.0), sum));
  };

  if (inner == 1) {
    CombineFn maxCombine = nanMax;
    CombineFn addCombine = [](Builder &bb, llvm::Value *x, llvm::Value *y) {
      return bb.CreateFAdd(x, y);
    };
    // Rows split over threads; in and out are reloaded in the parallel body.
    std::vector<llvm::Value *> values = {in, out};
    ctx.emitParallelFor(outer, rowGrain(n), values, [&](llvm::Value *first,
                                                        llvm::Value *last) {
    in = values[0];
    out = values[1];
    ctx.emitLoop(first, last, 1, [&](llvm::Value *o) {
      llvm::Value *base = b.CreateMul(o, ctx.i64(n));
      llvm::Value *m = reduceRow(ctx, in, base, n, f32, -INFINITY, maxStep, maxCombine, dt);
      llvm::Value *md = toDouble(b, m);
      llvm::Value *sum = reduceRow(ctx, in, base, n, f64, 0.0, sumStep(md), addCombine, dt);
      llvm::Value *scale = scaleOf(sum);
      forLanes(ctx, n, [&](llvm::Value *k, int lanes) {
        finish(b.CreateAdd(base, k), lanes, splatTo(b, md, lanes),
               splatTo(b, scale, lanes));
      });
    }, "o");
    });
  } else {
    std::vector<llvm::Value *> values = {in, out};
    ctx.emitParallelFor(outer, rowGrain(n * inner), values,
                        [&](llvm::Value *first, llvm::Value *last) {
    in = values[0];
    out = values[1];
    ctx.emitLoop(first, last, 1, [&](llvm::Value *o) {
      forLanes(ctx, inner, [&](llvm::Value *j, int lanes) {
        llvm::Value *base = b.CreateAdd(b.CreateMul(o, ctx.i64(n * inner)), j);
        llvm::Value *m = reduceColumns(ctx, in, base, n, inner, lanes, f32,
                                       -INFINITY, maxStep, dt);
        llvm::Value *md = toDouble(b, m);
        llvm::Value *sum = reduceColumns(ctx, in, base, n, inner, lanes, f64,
                                         0.0, sumStep(md), dt);
        llvm::Value *scale = scaleOf(sum);
        ctx.emitLoop(0, n, 1, [&](llvm::Value *k) {
          finish(b.CreateAdd(base, b.CreateMul(k, ctx.i64(inner))), lanes, md, scale);
        }, "k");
      });
    }, "o");
    });
  }
  ctx.finish();
  return absl::OkStatus();
}

} // namespace

absl::Status lowerSoftmax(const Op &op, LoweringContext &ctx) {
  return lowerSoftmaxImpl(op, ctx, /*logarithm=*/false);
}
absl::Status lowerLogSoftmax(const Op &op, LoweringContext &ctx) {
  return lowerSoftmaxImpl(op, ctx, /*logarithm=*/true);
}

absl::Status lowerLayerNorm(const Op &op, LoweringContext &ctx) {
  const TensorType &xt = op.operand(0)->type;
  DType dt = xt.dtype;
  const Shape &shape = xt.shape;
  int64_t rank = static_cast<int64_t>(shape.size());
  int64_t axis = op.attrs.getInt("axis", -1);
  if (axis < 0)
    axis += rank;
  int64_t outer = product(shape, 0, axis), n = product(shape, axis, shape.size());
  Shape normalized(shape.begin() + axis, shape.end());
  Builder &b = ctx.b();
  // scale (1) and bias (2): absent, one element, the whole normalized block,
  // or broadcast along part of it (read through a table of element indices,
  // one lane at a time).
  bool present[3] = {true, false, false}, single[3] = {false, false, false};
  llvm::GlobalVariable *table[3] = {nullptr, nullptr, nullptr};
  for (size_t i = 1; i < 3; ++i) {
    if (i >= op.operands.size() || !op.operand(i))
      continue;
    int64_t count = op.operand(i)->type.numElements();
    present[i] = true;
    single[i] = count == 1 && n != 1;
    if (count == n || count == 1 || n == 0)
      continue;
    std::vector<llvm::Constant *> indices;
    for (int64_t j = 0; j < n; ++j)
      indices.push_back(
          b.getInt64(ops::broadcastIndex(op.operand(i)->type.shape, normalized, j)));
    auto *at = llvm::ArrayType::get(b.getInt64Ty(), n);
    table[i] = new llvm::GlobalVariable(ctx.module(), at, true,
                                        llvm::GlobalValue::PrivateLinkage,
                                        llvm::ConstantArray::get(at, indices),
                                        ctx.function()->getName() + ".param");
  }
  llvm::Type *f64 = b.getDoubleTy();
  llvm::Value *in = ctx.operandPtr(0);
  llvm::Value *params[3] = {nullptr, nullptr, nullptr};
  for (size_t i = 1; i < 3; ++i)
    if (present[i])
      params[i] = ctx.operandPtr(i);
  llvm::Value *out = ctx.resultPtr(0);
  if (xt.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  double eps = op.attrs.getFloat("epsilon", 1e-5);
  llvm::Value *singles[3] = {nullptr, nullptr, nullptr};
  for (size_t i = 1; i < 3; ++i)
    if (present[i] && single[i])
      singles[i] = toDouble(b, lowp::loadF32(ctx, dt, 1, params[i], ctx.i64(0)));
  CombineFn add = [](Builder &bb, llvm::Value *x, llvm::Value *y) {
    return bb.CreateFAdd(x, y);
  };
  // Rows split over threads; the kernel's values the rows use are reloaded
  // in the parallel body.
  std::vector<llvm::Value *> values = {in, out};
  for (size_t i = 1; i < 3; ++i) {
    if (params[i])
      values.push_back(params[i]);
    if (singles[i])
      values.push_back(singles[i]);
  }
  ctx.emitParallelFor(outer, rowGrain(n), values, [&](llvm::Value *first,
                                                      llvm::Value *last) {
  size_t next = 0;
  in = values[next++];
  out = values[next++];
  for (size_t i = 1; i < 3; ++i) {
    if (params[i])
      params[i] = values[next++];
    if (singles[i])
      singles[i] = values[next++];
  }
  ctx.emitLoop(first, last, 1, [&](llvm::Value *o) {
    llvm::Value *base = b.CreateMul(o, ctx.i64(n));
    llvm::Value *sum = reduceRow(
        ctx, in, base, n, f64, 0.0,
        [](Builder &bb, llvm::Value *acc, llvm::Value *x, llvm::Value *) {
          return bb.CreateFAdd(acc, toDouble(bb, x));
        },
        add, dt);
    llvm::Value *mean = b.CreateFDiv(sum, fconstOf(f64, static_cast<double>(n)));
    llvm::Value *sq = reduceRow(
        ctx, in, base, n, f64, 0.0,
        [mean](Builder &bb, llvm::Value *acc, llvm::Value *x, llvm::Value *) {
          llvm::Value *d = bb.CreateFSub(toDouble(bb, x), splatLike(bb, mean, x));
          return bb.CreateFAdd(acc, bb.CreateFMul(d, d));
        },
        add, dt);
    llvm::Value *var = b.CreateFDiv(sq, fconstOf(f64, static_cast<double>(n)));
    llvm::Value *denom = b.CreateIntrinsic(llvm::Intrinsic::sqrt, {f64},
                                           {b.CreateFAdd(var, fconstOf(f64, eps))});
    llvm::Value *rinv = b.CreateFDiv(fconstOf(f64, 1.0), denom);
    auto element = [&](llvm::Value *j, int lanes) {
      llvm::Value *idx = b.CreateAdd(base, j);
      llvm::Value *x = toDouble(b, lowp::loadF32(ctx, dt, lanes, in, idx));
      llvm::Value *y = b.CreateFMul(b.CreateFSub(x, splatTo(b, mean, lanes)),
                                    splatTo(b, rinv, lanes));
      for (size_t i = 1; i < 3; ++i) {
        if (!present[i])
          continue;
        llvm::Value *p;
        if (singles[i]) {
          p = splatTo(b, singles[i], lanes);
        } else {
          llvm::Value *at = j;
          if (table[i]) // lanes == 1
            at = ctx.load(b.getInt64Ty(), b.getInt64Ty(), table[i], j);
          p = toDouble(b, lowp::loadF32(ctx, dt, lanes, params[i], at));
        }
        y = i == 1 ? b.CreateFMul(y, p) : b.CreateFAdd(y, p);
      }
      lowp::storeF32(ctx, dt, lowp::roundForStore(b, y, dt), out, idx);
    };
    if (table[1] || table[2])
      ctx.emitLoop(0, n, 1, [&](llvm::Value *j) { element(j, 1); }, "j");
    else
      forLanes(ctx, n, element);
  }, "o");
  });
  ctx.finish();
  return absl::OkStatus();
}

absl::Status lowerBatchNorm(const Op &op, LoweringContext &ctx) {
  const TensorType &xt = op.operand(0)->type;
  DType dt = xt.dtype;
  const Shape &shape = xt.shape;
  int64_t batch = shape[0], channels = shape[1],
          hw = product(shape, 2, shape.size());
  Builder &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy(), *f64 = b.getDoubleTy();
  llvm::Value *in = ctx.operandPtr(0);
  llvm::Value *scale = ctx.operandPtr(1), *bias = ctx.operandPtr(2),
              *mean = ctx.operandPtr(3), *var = ctx.operandPtr(4);
  llvm::Value *out = ctx.resultPtr(0);
  if (xt.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  double eps = op.attrs.getFloat("epsilon", 1e-5);
  // (n, c) planes split over threads; pointers reloaded in the body.
  std::vector<llvm::Value *> values = {in, out, scale, bias, mean, var};
  ctx.emitParallelFor(batch * channels, rowGrain(2 * hw), values,
                      [&](llvm::Value *first, llvm::Value *last) {
  in = values[0];
  out = values[1];
  scale = values[2];
  bias = values[3];
  mean = values[4];
  var = values[5];
  ctx.emitLoop(first, last, 1, [&](llvm::Value *nc) {
    llvm::Value *c = b.CreateSRem(nc, ctx.i64(channels));
    auto param = [&](llvm::Value *p) { return toDouble(b, lowp::loadF32(ctx, dt, 1, p, c)); };
    llvm::Value *denom = b.CreateIntrinsic(
        llvm::Intrinsic::sqrt, {f64}, {b.CreateFAdd(param(var), fconstOf(f64, eps))});
    llvm::Value *base = b.CreateMul(nc, ctx.i64(hw));
    if (dt != DType::F32) {
      // The reference's formula in double, rounded once (through round to
      // odd): exact.
      llvm::Value *m = param(mean), *s = param(scale), *sh = param(bias);
      forLanes(ctx, hw, [&](llvm::Value *j, int lanes) {
        llvm::Value *idx = b.CreateAdd(base, j);
        llvm::Value *x = toDouble(b, lowp::loadF32(ctx, dt, lanes, in, idx));
        llvm::Value *y = b.CreateFDiv(b.CreateFSub(x, splatTo(b, m, lanes)),
                                      splatTo(b, denom, lanes));
        y = b.CreateFAdd(b.CreateFMul(y, splatTo(b, s, lanes)), splatTo(b, sh, lanes));
        lowp::storeF32(ctx, dt, lowp::roundForStore(b, y, dt), out, idx);
      });
      return;
    }
    llvm::Value *a = b.CreateFDiv(param(scale), denom);
    llvm::Value *shift = b.CreateFSub(param(bias), b.CreateFMul(param(mean), a));
    llvm::Value *af = toFloat(b, a), *bf = toFloat(b, shift);
    forLanes(ctx, hw, [&](llvm::Value *j, int lanes) {
      llvm::Value *idx = b.CreateAdd(base, j);
      llvm::Value *x = ctx.load(ctx.vectorOf(f32, lanes), f32, in, idx);
      ctx.store(fmuladd(b, x, splatTo(b, af, lanes), splatTo(b, bf, lanes)), f32,
                out, idx);
    });
  }, "nc");
  });
  ctx.finish();
  return absl::OkStatus();
}

} // namespace tcpu
