//===- Reductions.cpp - Lowering of reduce_sum/mean/max/min/prod ------------===//
//
// f32 only (other dtypes stay on the interpreter). Size-1 dims are dropped
// and adjacent dims of one kind (reduced / kept) merged, which turns the
// input into [outer, n, inner] with the reduced dims as n; reductions whose
// reduced dims do not merge into one block (axes {0, 2} of [a, b, c] with
// b > 1) are not lowered yet and run on the interpreter.
// - inner == 1 (the last axis is reduced): each row of n contiguous elements
//   is reduced with W-lane vectors, the lanes combined in lane order, then
//   the scalar tail;
// - inner > 1: W adjacent output columns at a time, the reduced axis walked
//   with stride inner (a scalar loop for the tail columns).
// Numerics, against the interpreter (double accumulation in row-major order):
// - max and min are exact (NaN propagates, -inf/+inf over zero elements; the
//   sign of a zero among equal +-0 may differ, which compares equal);
// - sum, mean and prod accumulate in double lanes as well, only in another
//   order, then round once: the result is the reference's to within 1 ulp,
//   plus about n * 2^-53 * sum|x| absolute where terms cancel. prod can
//   differ when a double partial product overflows or underflows (beyond
//   1e+-308), which the reference's order may avoid.
//
//===----------------------------------------------------------------------===//
#include "codegen/lower/RowSupport.h"

namespace tcpu {

namespace {

using namespace rows;

enum class Kind { Sum, Mean, Max, Min, Prod };

absl::Status lowerReduce(const Op &op, LoweringContext &ctx, Kind kind) {
  const TensorType &xt = op.operand(0)->type;
  if (xt.dtype != DType::F32)
    return unsupported(op, std::string(dtypeName(xt.dtype)));
  const Shape &shape = xt.shape;
  int64_t rank = static_cast<int64_t>(shape.size());
  std::vector<int64_t> axes = op.attrs.getInts("axes");
  std::vector<bool> mask(rank, axes.empty());
  for (int64_t a : axes)
    if (rank > 0)
      mask[a < 0 ? a + rank : a] = true;

  // [outer, n, inner] after dropping size-1 dims and merging neighbours.
  int64_t count = 1;
  for (int64_t d = 0; d < rank; ++d)
    if (mask[d])
      count *= shape[d];
  std::vector<std::pair<int64_t, bool>> groups; // (size, reduced)
  for (int64_t d = 0; d < rank; ++d) {
    if (shape[d] == 1)
      continue;
    if (!groups.empty() && groups.back().second == mask[d])
      groups.back().first *= shape[d];
    else
      groups.push_back({shape[d], mask[d]});
  }
  int reducedGroups = 0;
  for (auto &g : groups)
    reducedGroups += g.second;
  if (reducedGroups > 1 && count > 0 && op.result(0)->type.numElements() > 0)
    return unsupported(op, "reduced axes that are not adjacent");
  int64_t outer = 1, n = 1, inner = 1;
  bool seenReduced = false;
  for (auto &[size, reduced] : groups) {
    if (reduced) {
      n = size;
      seenReduced = true;
    } else {
      (seenReduced ? inner : outer) *= size;
    }
  }

  Builder &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy(), *f64 = b.getDoubleTy();
  llvm::Value *in = ctx.operandPtr(0);
  llvm::Value *out = ctx.resultPtr(0);
  int64_t outCount = op.result(0)->type.numElements();
  constexpr double inf = std::numeric_limits<double>::infinity();
  bool inDouble = kind == Kind::Sum || kind == Kind::Mean || kind == Kind::Prod;
  double init = kind == Kind::Prod ? 1.0 : kind == Kind::Max ? -inf
                : kind == Kind::Min ? inf : 0.0;
  llvm::Type *accTy = inDouble ? f64 : f32;
  StepFn step = [&](Builder &bb, llvm::Value *acc, llvm::Value *x,
                    llvm::Value *) -> llvm::Value * {
    switch (kind) {
    case Kind::Sum:
    case Kind::Mean:
      return bb.CreateFAdd(acc, toDouble(bb, x));
    case Kind::Prod:
      return bb.CreateFMul(acc, toDouble(bb, x));
    case Kind::Max:
      return nanMax(bb, acc, x);
    case Kind::Min:
      return nanMin(bb, acc, x);
    }
    return acc;
  };
  CombineFn combine = [&](Builder &bb, llvm::Value *a, llvm::Value *c) -> llvm::Value * {
    switch (kind) {
    case Kind::Sum:
    case Kind::Mean:
      return bb.CreateFAdd(a, c);
    case Kind::Prod:
      return bb.CreateFMul(a, c);
    case Kind::Max:
      return nanMax(bb, a, c);
    case Kind::Min:
      return nanMin(bb, a, c);
    }
    return a;
  };
  auto finalize = [&](llvm::Value *acc) -> llvm::Value * {
    if (kind == Kind::Mean)
      acc = b.CreateFDiv(acc, fconst(acc, static_cast<double>(count)));
    return inDouble ? toFloat(b, acc) : acc;
  };

  if (outCount == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  if (count == 0) { // the identity (mean: 0 / 0 = NaN)
    double v = kind == Kind::Mean ? std::numeric_limits<double>::quiet_NaN() : init;
    ctx.emitLoop(0, outCount, 1, [&](llvm::Value *o) {
      ctx.store(fconstOf(f32, v), f32, out, o);
    }, "fill");
    ctx.finish();
    return absl::OkStatus();
  }
  if (inner == 1) {
    ctx.emitLoop(0, outer, 1, [&](llvm::Value *o) {
      llvm::Value *r = reduceRow(ctx, in, b.CreateMul(o, ctx.i64(n)), n, accTy,
                                 init, step, combine);
      ctx.store(finalize(r), f32, out, o);
    }, "o");
  } else {
    ctx.emitLoop(0, outer, 1, [&](llvm::Value *o) {
      forLanes(ctx, inner, [&](llvm::Value *j, int lanes) {
        llvm::Value *base = b.CreateAdd(b.CreateMul(o, ctx.i64(n * inner)), j);
        llvm::Value *acc = reduceColumns(ctx, in, base, n, inner, lanes, accTy,
                                         init, step);
        ctx.store(finalize(acc), f32, out,
                  b.CreateAdd(b.CreateMul(o, ctx.i64(inner)), j));
      });
    }, "o");
  }
  ctx.finish();
  return absl::OkStatus();
}

} // namespace

absl::Status lowerReduceSum(const Op &op, LoweringContext &ctx) {
  return lowerReduce(op, ctx, Kind::Sum);
}
absl::Status lowerReduceMean(const Op &op, LoweringContext &ctx) {
  return lowerReduce(op, ctx, Kind::Mean);
}
absl::Status lowerReduceMax(const Op &op, LoweringContext &ctx) {
  return lowerReduce(op, ctx, Kind::Max);
}
absl::Status lowerReduceMin(const Op &op, LoweringContext &ctx) {
  return lowerReduce(op, ctx, Kind::Min);
}
absl::Status lowerReduceProd(const Op &op, LoweringContext &ctx) {
  return lowerReduce(op, ctx, Kind::Prod);
}

} // namespace tcpu
