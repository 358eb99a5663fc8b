//===- Reductions.cpp - Lowering of reduce_sum/mean/max/min/prod and argmax
//-===//
//
// Size-1 dims are dropped and adjacent dims of one kind (reduced / kept)
// merged. Two kernels:
// - float dtypes whose reduced dims merge into one block, [outer, n, inner]
//   (the row kernels of RowSupport.h; f16/bf16 widened to f32 on load):
//   - inner == 1 (the last axis is reduced): each row of n contiguous
//     elements is reduced with W-lane vectors, the lanes combined in lane
//     order, then the scalar tail;
//   - inner > 1: W adjacent output columns at a time, the reduced axis
//     walked with stride inner (a scalar loop for the tail columns).
// - every other case (integer dtypes, reduced axes that do not merge, e.g.
//   axes {0, 2} of [a, b, c]): a loop nest over the kept dims, and for each
//   output the reduced dims walked in row-major order, as the reference
//   accumulates; W adjacent outputs at once when the last dim is kept.
// Numerics, against the interpreter (double accumulation in row-major order):
// - max and min are exact (NaN propagates, -inf/+inf over zero elements; the
//   sign of a zero among equal +-0 may differ, which compares equal);
// - float sum, mean and prod accumulate in double lanes, in another order in
//   the row kernels (the reference's order in the loop nest), then round
//   once (f16/bf16 through round to odd, as the reference): within 1 ulp,
//   plus about n * 2^-53 * sum|x| absolute where terms cancel. prod can
//   differ when a double partial product overflows or underflows (beyond
//   1e+-308), which the reference's order may avoid.
// - integers are exact: sum and prod wrap in the dtype's width (the same as
//   wrapping in int64 and then truncating), mean divides the exact i128 sum
//   truncating toward zero.
// argmax walks the axis keeping the best value and its index: NaN beats
// every number, ties keep the first index (the last with
// select_last_index); W adjacent outputs at once when the axis is not last.
//
//===----------------------------------------------------------------------===//
#include "codegen/lower/RowSupport.h"

namespace tcpu {

namespace {

using namespace rows;

enum class Kind { Sum, Mean, Max, Min, Prod };

/// A run of merged dims: its size, whether it is reduced, and its stride in
/// the input (elements).
struct Group {
  int64_t size;
  bool reduced;
  int64_t stride = 1;
};

/// The dims of `shape` without size-1 dims, adjacent dims of one kind
/// merged (row-major, so a merged run is contiguous in its inner stride).
std::vector<Group> groupDims(const Shape &shape,
                             const std::vector<bool> &mask) {
  std::vector<Group> groups;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1)
      continue;
    if (!groups.empty() && groups.back().reduced == mask[d])
      groups.back().size *= shape[d];
    else
      groups.push_back({shape[d], mask[d]});
  }
  int64_t stride = 1;
  for (size_t g = groups.size(); g-- > 0;) {
    groups[g].stride = stride;
    stride *= groups[g].size;
  }
  return groups;
}

/// The integer kernels' arithmetic on lanes of the dtype's LLVM type (mean:
/// i128).
struct IntOps {
  Kind kind;
  bool isSigned;
  int64_t count; // elements per output

  llvm::Type *accType(Builder &b, llvm::Type *elem) const {
    return kind == Kind::Mean ? b.getInt128Ty() : elem;
  }
  int64_t init(DType t) const {
    switch (kind) {
    case Kind::Prod:
      return 1;
    case Kind::Max:
      return t == DType::I8    ? INT8_MIN
             : t == DType::I32 ? INT32_MIN
             : t == DType::I64 ? INT64_MIN
                               : 0;
    case Kind::Min:
      return t == DType::I8    ? INT8_MAX
             : t == DType::I32 ? INT32_MAX
             : t == DType::I64 ? INT64_MAX
             : t == DType::U8  ? 255
                               : 1;
    default:
      return 0;
    }
  }
  llvm::Value *step(Builder &b, llvm::Value *acc, llvm::Value *x) const {
    switch (kind) {
    case Kind::Sum:
      return b.CreateAdd(acc, x);
    case Kind::Prod:
      return b.CreateMul(acc, x);
    case Kind::Mean:
      return b.CreateAdd(acc, isSigned ? b.CreateSExt(x, acc->getType())
                                       : b.CreateZExt(x, acc->getType()));
    case Kind::Max: // the first of equal values stays
      return b.CreateSelect(
          isSigned ? b.CreateICmpSGT(x, acc) : b.CreateICmpUGT(x, acc), x, acc);
    case Kind::Min:
      return b.CreateSelect(
          isSigned ? b.CreateICmpSLT(x, acc) : b.CreateICmpULT(x, acc), x, acc);
    }
    return acc;
  }
  /// The mean's quotient lies between the smallest and the largest element,
  /// so it fits the dtype.
  llvm::Value *finish(Builder &b, llvm::Value *acc, llvm::Type *elem) const {
    if (kind != Kind::Mean)
      return acc;
    llvm::Value *c = llvm::ConstantInt::get(acc->getType(), count);
    return b.CreateTrunc(b.CreateSDiv(acc, c), elem);
  }
};

/// The loop-nest kernel (see the file comment): any dtype, any axes.
void emitReduceNest(LoweringContext &ctx, Kind kind, DType dt,
                    const std::vector<Group> &groups, int64_t count) {
  Builder &b = ctx.b();
  llvm::Value *in = ctx.operandPtr(0);
  llvm::Value *out = ctx.resultPtr(0);
  bool floating = isFloat(dt);
  llvm::Type *elem = lowp::storageType(ctx, dt);
  IntOps intOps{kind, isSignedInteger(dt), count};
  constexpr double inf = std::numeric_limits<double>::infinity();
  bool inDouble = kind == Kind::Sum || kind == Kind::Mean || kind == Kind::Prod;
  llvm::Type *accTy = floating ? (inDouble ? b.getDoubleTy() : b.getFloatTy())
                               : intOps.accType(b, elem);
  double floatInit = kind == Kind::Prod  ? 1.0
                     : kind == Kind::Max ? -inf
                     : kind == Kind::Min ? inf
                                         : 0.0;

  std::vector<Group> kept, reduced;
  for (const Group &g : groups)
    (g.reduced ? reduced : kept).push_back(g);
  std::vector<int64_t> outStrides(kept.size());
  for (size_t g = kept.size(), s = 1; g-- > 0;) {
    outStrides[g] = static_cast<int64_t>(s);
    s *= kept[g].size;
  }
  // The last dim kept: its W adjacent outputs are reduced at once.
  bool lanesOnLast = !groups.empty() && !groups.back().reduced;
  size_t keptLoops = kept.size() - (lanesOnLast ? 1 : 0);

  auto reduceAt = [&](llvm::Value *inBase, llvm::Value *outIndex, int lanes) {
    llvm::Type *vt = ctx.vectorOf(accTy, lanes);
    Slot acc(ctx, vt);
    acc.set(floating ? fconstOf(vt, floatInit)
                     : llvm::ConstantInt::get(vt, intOps.init(dt),
                                              /*IsSigned=*/true));
    std::function<void(size_t, llvm::Value *)> walk = [&](size_t g,
                                                          llvm::Value *at) {
      if (g == reduced.size()) {
        if (floating) {
          llvm::Value *x = lowp::loadF32(ctx, dt, lanes, in, at);
          llvm::Value *a = acc.get();
          switch (kind) {
          case Kind::Sum:
          case Kind::Mean:
            acc.set(b.CreateFAdd(a, toDouble(b, x)));
            break;
          case Kind::Prod:
            acc.set(b.CreateFMul(a, toDouble(b, x)));
            break;
          case Kind::Max:
            acc.set(nanMax(b, a, x));
            break;
          case Kind::Min:
            acc.set(nanMin(b, a, x));
            break;
          }
        } else {
          llvm::Value *x = ctx.load(ctx.vectorOf(elem, lanes), elem, in, at);
          acc.set(intOps.step(b, acc.get(), x));
        }
        return;
      }
      ctx.emitLoop(
          0, reduced[g].size, 1,
          [&](llvm::Value *k) {
            walk(g + 1,
                 b.CreateAdd(at, b.CreateMul(k, ctx.i64(reduced[g].stride))));
          },
          "r" + std::to_string(g));
    };
    walk(0, inBase);
    llvm::Value *r = acc.get();
    if (floating) {
      if (kind == Kind::Mean)
        r = b.CreateFDiv(r, fconst(r, static_cast<double>(count)));
      if (inDouble)
        r = lowp::roundForStore(b, r, dt);
      lowp::storeF32(ctx, dt, r, out, outIndex);
    } else {
      ctx.store(intOps.finish(b, r, withElement(r, elem)), elem, out, outIndex);
    }
  };
  std::function<void(size_t, llvm::Value *, llvm::Value *)> nest =
      [&](size_t g, llvm::Value *inBase, llvm::Value *outIndex) {
        if (g == keptLoops) {
          if (!lanesOnLast) {
            reduceAt(inBase, outIndex, 1);
            return;
          }
          forLanes(ctx, kept.back().size, [&](llvm::Value *j, int lanes) {
            reduceAt(b.CreateAdd(inBase, j), b.CreateAdd(outIndex, j), lanes);
          });
          return;
        }
        ctx.emitLoop(
            0, kept[g].size, 1,
            [&](llvm::Value *o) {
              nest(g + 1,
                   b.CreateAdd(inBase, b.CreateMul(o, ctx.i64(kept[g].stride))),
                   b.CreateAdd(outIndex,
                               b.CreateMul(o, ctx.i64(outStrides[g]))));
            },
            "k" + std::to_string(g));
      };
  nest(0, ctx.i64(0), ctx.i64(0));
}

absl::Status lowerReduce(const Op &op, LoweringContext &ctx, Kind kind) {
  const TensorType &xt = op.operand(0)->type;
  DType dt = xt.dtype;
  const Shape &shape = xt.shape;
  int64_t rank = static_cast<int64_t>(shape.size());
  std::vector<int64_t> axes = op.attrs.getInts("axes");
  std::vector<bool> mask(rank, axes.empty());
  for (int64_t a : axes)
    if (rank > 0)
      mask[a < 0 ? a + rank : a] = true;

  int64_t count = 1;
  for (int64_t d = 0; d < rank; ++d)
    if (mask[d])
      count *= shape[d];
  std::vector<Group> groups = groupDims(shape, mask);
  int reducedGroups = 0;
  for (const Group &g : groups)
    reducedGroups += g.reduced;

  Builder &b = ctx.b();
  llvm::Type *f64 = b.getDoubleTy();
  llvm::Value *in = ctx.operandPtr(0);
  llvm::Value *out = ctx.resultPtr(0);
  int64_t outCount = op.result(0)->type.numElements();
  if (outCount == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  if (!isFloat(dt) || reducedGroups > 1) {
    emitReduceNest(ctx, kind, dt, groups, count);
    ctx.finish();
    return absl::OkStatus();
  }

  // The row kernels: [outer, n, inner].
  int64_t outer = 1, n = 1, inner = 1;
  bool seenReduced = false;
  for (const Group &g : groups) {
    if (g.reduced) {
      n = g.size;
      seenReduced = true;
    } else {
      (seenReduced ? inner : outer) *= g.size;
    }
  }
  constexpr double inf = std::numeric_limits<double>::infinity();
  bool inDouble = kind == Kind::Sum || kind == Kind::Mean || kind == Kind::Prod;
  double init = kind == Kind::Prod  ? 1.0
                : kind == Kind::Max ? -inf
                : kind == Kind::Min ? inf
                                    : 0.0;
  llvm::Type *accTy = inDouble ? f64 : b.getFloatTy();
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
  CombineFn combine = [&](Builder &bb, llvm::Value *a,
                          llvm::Value *c) -> llvm::Value * {
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
  auto store = [&](llvm::Value *acc, llvm::Value *index) {
    if (kind == Kind::Mean)
      acc = b.CreateFDiv(acc, fconst(acc, static_cast<double>(count)));
    lowp::storeF32(ctx, dt, inDouble ? lowp::roundForStore(b, acc, dt) : acc,
                   out, index);
  };

  if (count == 0) { // the identity (mean: 0 / 0 = NaN)
    double v =
        kind == Kind::Mean ? std::numeric_limits<double>::quiet_NaN() : init;
    ctx.emitLoop(
        0, outCount, 1,
        [&](llvm::Value *o) {
          lowp::storeF32(ctx, dt, fconstOf(b.getFloatTy(), v), out, o);
        },
        "fill");
    ctx.finish();
    return absl::OkStatus();
  }
  // The outer rows split over threads, in tasks of at least 2^15 elements
  // read; in and out are reloaded in the parallel body.
  const int64_t rowElements = std::max<int64_t>(1, n * inner);
  const int64_t grain = std::max<int64_t>(1, ((int64_t(1) << 15) + rowElements - 1) /
                                                 rowElements);
  std::vector<llvm::Value *> values = {in, out};
  ctx.emitParallelFor(outer, grain, values, [&](llvm::Value *first,
                                                llvm::Value *last) {
  in = values[0];
  out = values[1];
  if (inner == 1) {
    ctx.emitLoop(
        first, last, 1,
        [&](llvm::Value *o) {
          llvm::Value *r = reduceRow(ctx, in, b.CreateMul(o, ctx.i64(n)), n,
                                     accTy, init, step, combine, dt);
          store(r, o);
        },
        "o");
  } else {
    ctx.emitLoop(
        first, last, 1,
        [&](llvm::Value *o) {
          forLanes(ctx, inner, [&](llvm::Value *j, int lanes) {
            llvm::Value *base =
                b.CreateAdd(b.CreateMul(o, ctx.i64(n * inner)), j);
            llvm::Value *acc = reduceColumns(ctx, in, base, n, inner, lanes,
                                             accTy, init, step, dt);
            store(acc, b.CreateAdd(b.CreateMul(o, ctx.i64(inner)), j));
          });
        },
        "o");
  }
  });
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

absl::Status lowerArgmax(const Op &op, LoweringContext &ctx) {
  const TensorType &xt = op.operand(0)->type;
  DType dt = xt.dtype;
  const Shape &shape = xt.shape;
  int64_t rank = static_cast<int64_t>(shape.size());
  int64_t axis = op.attrs.getInt("axis");
  if (axis < 0)
    axis += rank;
  bool last = op.attrs.getInt("select_last_index") != 0;
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? outer : d == axis ? n : inner) *= shape[d];
  Builder &b = ctx.b();
  llvm::Value *in = ctx.operandPtr(0);
  llvm::Value *out = ctx.resultPtr(0);
  llvm::Type *i64 = b.getInt64Ty();
  // Inference rejects an empty axis unless the result is empty.
  if (op.result(0)->type.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  bool floating = isFloat(dt), isSigned = isSignedInteger(dt);
  llvm::Type *elem = lowp::storageType(ctx, dt);
  auto loadAt = [&](llvm::Value *at, int lanes) {
    return floating ? lowp::loadF32(ctx, dt, lanes, in, at)
                    : ctx.load(ctx.vectorOf(elem, lanes), elem, in, at);
  };
  // Whether value v replaces the best so far, b.
  auto takes = [&](llvm::Value *v, llvm::Value *best) -> llvm::Value * {
    llvm::Value *greater, *equal;
    if (floating) {
      llvm::Value *vNaN = b.CreateFCmpUNO(v, v),
                  *bNaN = b.CreateFCmpUNO(best, best);
      greater = b.CreateOr(b.CreateAnd(vNaN, b.CreateNot(bNaN)),
                           b.CreateFCmpOGT(v, best));
      equal = b.CreateOr(b.CreateAnd(vNaN, bNaN), b.CreateFCmpOEQ(v, best));
    } else {
      greater = isSigned ? b.CreateICmpSGT(v, best) : b.CreateICmpUGT(v, best);
      equal = b.CreateICmpEQ(v, best);
    }
    return last ? b.CreateOr(greater, equal) : greater;
  };
  auto argmaxAt = [&](llvm::Value *base, llvm::Value *outIndex, int lanes) {
    llvm::Value *first = loadAt(base, lanes);
    Slot best(ctx, first->getType()), index(ctx, ctx.vectorOf(i64, lanes));
    best.set(first);
    index.set(llvm::ConstantInt::get(ctx.vectorOf(i64, lanes), 0));
    ctx.emitLoop(
        1, n, 1,
        [&](llvm::Value *k) {
          llvm::Value *v =
              loadAt(b.CreateAdd(base, b.CreateMul(k, ctx.i64(inner))), lanes);
          llvm::Value *bestValue = best.get();
          llvm::Value *take = takes(v, bestValue);
          best.set(b.CreateSelect(take, v, bestValue));
          index.set(b.CreateSelect(take, splatTo(b, k, lanes), index.get()));
        },
        "k");
    ctx.store(index.get(), i64, out, outIndex);
  };
  ctx.emitLoop(
      0, outer, 1,
      [&](llvm::Value *o) {
        llvm::Value *base = b.CreateMul(o, ctx.i64(n * inner));
        llvm::Value *outBase = b.CreateMul(o, ctx.i64(inner));
        forLanes(ctx, inner, [&](llvm::Value *j, int lanes) {
          argmaxAt(b.CreateAdd(base, j), b.CreateAdd(outBase, j), lanes);
        });
      },
      "o");
  ctx.finish();
  return absl::OkStatus();
}

} // namespace tcpu
