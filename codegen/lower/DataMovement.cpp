//===- DataMovement.cpp - Lowering of ops that only move bytes -------------===//
//
// reshape, squeeze, unsqueeze and flatten keep the row-major bytes: a copy.
// (A later memory-planning step can alias them instead.) Constants are bound
// by the engine to their data and never become kernels.
//
// transpose, slice and pad, for every dtype, move elements as integers of
// their size (exact bytes) through per-axis offset tables, as the reference
// does: output axis a at coordinate o reads the input at offset maps[a][o]
// (summed over axes), or the fill value (pad "constant") when any map says
// kFill. Affine axes (transpose, slice) need no table; the others are
// constant i64 arrays in the module. When the innermost axis reads a
// contiguous run, each row is copied with W-lane vector moves (a memcpy call
// there cost ~25 ms of JIT time per kernel on small rows). concat copies, per
// outer index, one contiguous run of each input (memcpy). gather checks
// every index (a bad one makes the kernel return
// KernelError::IndexOutOfRange before anything is written), then copies one
// run per (outer, index) with vector moves. The plans mirror
// planPad of ir/ops/Shape.cpp; slices use its planSlice (ir/ops/SlicePlan.h).
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"
#include "ir/ops/SlicePlan.h"

#include "ir/Tensor.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"

#include <algorithm>
#include <cstring>

namespace tcpu {

namespace {
absl::Status lowerCopy(const Op &op, LoweringContext &ctx) {
  int64_t bytes = op.result(0)->type.byteSize();
  if (bytes > 0)
    ctx.b().CreateMemCpy(ctx.resultPtr(0), llvm::MaybeAlign(1), ctx.operandPtr(0),
                         llvm::MaybeAlign(1), bytes);
  ctx.finish();
  return absl::OkStatus();
}
constexpr int64_t kFill = -1;

Shape stridesOf(const Shape &shape) {
  Shape s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/// result[o] = sum over axes of in[maps[a][o_a]], or `fill` (element bytes)
/// when a map entry is kFill.
absl::Status emitAxisMapCopy(LoweringContext &ctx, const std::vector<Shape> &maps,
                             const std::vector<uint8_t> &fill) {
  const Op &op = ctx.op();
  llvm::IRBuilder<> &b = ctx.b();
  int64_t es = dtypeSize(op.result(0)->type.dtype);
  llvm::Type *t = b.getIntNTy(8 * es);
  llvm::Value *in = ctx.operandPtr(0);
  llvm::Value *out = ctx.resultPtr(0);
  const Shape &shape = op.result(0)->type.shape;
  int64_t n = op.result(0)->type.numElements();
  if (n == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  uint64_t fillBits = 0;
  if (!fill.empty())
    std::memcpy(&fillBits, fill.data(), std::min<size_t>(fill.size(), 8));
  llvm::Value *fillValue = llvm::ConstantInt::get(t, fillBits);
  int64_t rank = static_cast<int64_t>(shape.size());
  if (rank == 0 || op.operand(0)->type.numElements() == 0) {
    // A scalar is copied; an empty input can only be padded with the fill.
    ctx.emitLoop(0, n, 1, [&](llvm::Value *i) {
      ctx.store(op.operand(0)->type.numElements() == 0
                    ? fillValue
                    : ctx.load(t, t, in, ctx.i64(0)),
                t, out, i);
    }, "e");
    ctx.finish();
    return absl::OkStatus();
  }
  // Tables, and whether an axis is affine (maps[a][o] = base + o * stride).
  std::vector<llvm::GlobalVariable *> tables(rank, nullptr);
  std::vector<bool> affine(rank, true), hasFill(rank, false);
  for (int64_t a = 0; a < rank; ++a) {
    const Shape &m = maps[a];
    for (size_t o = 0; o < m.size(); ++o) {
      hasFill[a] = hasFill[a] || m[o] == kFill;
      if (o >= 1 && m[o] - m[o - 1] != (m.size() > 1 ? m[1] - m[0] : 0))
        affine[a] = false;
    }
    if (hasFill[a])
      affine[a] = false;
    if (!affine[a]) {
      auto *at = llvm::ArrayType::get(b.getInt64Ty(), m.size());
      std::vector<llvm::Constant *> vals;
      for (int64_t v : m)
        vals.push_back(b.getInt64(v));
      tables[a] = new llvm::GlobalVariable(
          ctx.module(), at, true, llvm::GlobalValue::PrivateLinkage,
          llvm::ConstantArray::get(at, vals), ctx.function()->getName() + ".map");
    }
  }
  // Offset (and fill flag) of axis a at coordinate o.
  auto axisOffset = [&](int64_t a, llvm::Value *o) -> std::pair<llvm::Value *, llvm::Value *> {
    if (affine[a]) {
      int64_t base = maps[a][0], stride = maps[a].size() > 1 ? maps[a][1] - maps[a][0] : 0;
      return {b.CreateAdd(ctx.i64(base), b.CreateMul(o, ctx.i64(stride))), nullptr};
    }
    llvm::Value *m = ctx.load(b.getInt64Ty(), b.getInt64Ty(), tables[a], o);
    if (!hasFill[a])
      return {m, nullptr};
    llvm::Value *isFill = b.CreateICmpEQ(m, ctx.i64(kFill));
    return {b.CreateSelect(isFill, ctx.i64(0), m), isFill};
  };
  Shape outStrides = stridesOf(shape);
  int64_t inner = shape[rank - 1];
  bool runCopy = affine[rank - 1] && inner > 1 && maps[rank - 1][1] - maps[rank - 1][0] == 1;
  std::function<void(int64_t, llvm::Value *, llvm::Value *, llvm::Value *)> nest =
      [&](int64_t a, llvm::Value *inOff, llvm::Value *outOff, llvm::Value *fillFlag) {
        if (a == rank - 1 && runCopy) {
          llvm::Value *src = b.CreateAdd(inOff, ctx.i64(maps[a][0]));
          // W-lane vector moves, then single elements (no memcpy call).
          auto copy = [&] {
            int w = ctx.vectorWidth();
            int64_t vectorEnd = w > 1 ? inner / w * w : 0;
            auto move = [&](llvm::Value *j, int lanes) {
              llvm::Type *vt = ctx.vectorOf(t, lanes);
              ctx.store(ctx.load(vt, t, in, b.CreateAdd(src, j)), t, out,
                        b.CreateAdd(outOff, j));
            };
            ctx.emitLoop(0, vectorEnd, w, [&](llvm::Value *j) { move(j, w); }, "mv");
            ctx.emitLoop(vectorEnd, inner, 1, [&](llvm::Value *j) { move(j, 1); }, "ms");
          };
          if (!fillFlag) {
            copy();
            return;
          }
          // A filled row: the fill value, else the run.
          llvm::BasicBlock *fillBB = llvm::BasicBlock::Create(ctx.llvm(), "fill", ctx.function());
          llvm::BasicBlock *copyBB = llvm::BasicBlock::Create(ctx.llvm(), "copy", ctx.function());
          llvm::BasicBlock *done = llvm::BasicBlock::Create(ctx.llvm(), "done", ctx.function());
          b.CreateCondBr(fillFlag, fillBB, copyBB);
          b.SetInsertPoint(fillBB);
          ctx.emitLoop(0, inner, 1, [&](llvm::Value *j) {
            ctx.store(fillValue, t, out, b.CreateAdd(outOff, j));
          }, "f");
          b.CreateBr(done);
          b.SetInsertPoint(copyBB);
          copy();
          b.CreateBr(done);
          b.SetInsertPoint(done);
          return;
        }
        ctx.emitLoop(0, shape[a], 1, [&](llvm::Value *o) {
          auto [off, f] = axisOffset(a, o);
          llvm::Value *nextIn = b.CreateAdd(inOff, off);
          llvm::Value *nextOut = b.CreateAdd(outOff, b.CreateMul(o, ctx.i64(outStrides[a])));
          llvm::Value *nextFill = fillFlag;
          if (f)
            nextFill = nextFill ? b.CreateOr(nextFill, f) : f;
          if (a + 1 < rank) {
            nest(a + 1, nextIn, nextOut, nextFill);
            return;
          }
          llvm::Value *v = ctx.load(t, t, in, nextIn);
          if (nextFill)
            v = b.CreateSelect(nextFill, fillValue, v);
          ctx.store(v, t, out, nextOut);
        }, "d" + std::to_string(a));
      };
  nest(0, ctx.i64(0), ctx.i64(0), nullptr);
  ctx.finish();
  return absl::OkStatus();
}

} // namespace

absl::Status lowerTranspose(const Op &op, LoweringContext &ctx) {
  const Shape &in = op.operand(0)->type.shape;
  int64_t rank = static_cast<int64_t>(in.size());
  Shape perm;
  if (op.attrs.has("perm"))
    perm = op.attrs.getInts("perm");
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  Shape strides = stridesOf(in);
  std::vector<Shape> maps(rank);
  for (int64_t i = 0; i < rank; ++i)
    for (int64_t o = 0; o < in[perm[i]]; ++o)
      maps[i].push_back(o * strides[perm[i]]);
  return emitAxisMapCopy(ctx, maps, {});
}

absl::Status lowerSlice(const Op &op, LoweringContext &ctx) {
  const Shape &in = op.operand(0)->type.shape;
  int64_t rank = static_cast<int64_t>(in.size());
  absl::StatusOr<ops::SlicePlan> plan =
      ops::planSlice(op.operand(0)->type, op.attrs);
  if (!plan.ok())
    return plan.status();
  const Shape &start = plan->start, &step = plan->step, &count = plan->shape;
  if (count != op.result(0)->type.shape)
    return absl::InternalError("slice plan disagrees with the inferred type");
  Shape strides = stridesOf(in);
  std::vector<Shape> maps(rank);
  for (int64_t a = 0; a < rank; ++a)
    for (int64_t o = 0; o < count[a]; ++o)
      maps[a].push_back((start[a] + o * step[a]) * strides[a]);
  return emitAxisMapCopy(ctx, maps, {});
}

absl::Status lowerPad(const Op &op, LoweringContext &ctx) {
  const TensorType &xt = op.operand(0)->type;
  const Shape &in = xt.shape;
  int64_t rank = static_cast<int64_t>(in.size());
  Shape pads = op.attrs.getInts("pads");
  std::string mode = op.attrs.getString("mode", "constant");
  Shape strides = stridesOf(in);
  std::vector<Shape> maps(rank);
  for (int64_t a = 0; a < rank; ++a) { // planPad / evalPad of ir/ops/Shape.cpp
    int64_t d = in[a], b = pads[a], e = pads[a + rank];
    int64_t cb = b < 0 ? -b : 0, ce = e < 0 ? -e : 0;
    int64_t pb = b > 0 ? b : 0, pe = e > 0 ? e : 0;
    int64_t kept = d - cb - ce, size = kept + pb + pe;
    for (int64_t o = 0; o < size; ++o) {
      int64_t q = o - pb;
      if (q < 0 || q >= kept) {
        if (mode == "constant") {
          maps[a].push_back(kFill);
          continue;
        }
        if (mode == "edge")
          q = q < 0 ? 0 : kept - 1;
        else
          q = q < 0 ? -q : 2 * (kept - 1) - q;
      }
      maps[a].push_back((cb + q) * strides[a]);
    }
  }
  // The fill value in the dtype, converted as the reference's stores convert.
  absl::StatusOr<Tensor> fill = Tensor::allocate(TensorType(xt.dtype, {}));
  if (!fill.ok())
    return fill.status();
  fill->setElementFromDouble(0, op.attrs.getFloat("value", 0.0));
  const uint8_t *bytes = static_cast<const uint8_t *>(fill->data());
  return emitAxisMapCopy(ctx, maps,
                         std::vector<uint8_t>(bytes, bytes + dtypeSize(xt.dtype)));
}

absl::Status lowerConcat(const Op &op, LoweringContext &ctx) {
  const TensorType &rt = op.result(0)->type;
  int64_t rank = rt.rank();
  int64_t axis = op.attrs.getInt("axis");
  if (axis < 0)
    axis += rank;
  int64_t es = dtypeSize(rt.dtype);
  int64_t outer = 1;
  for (int64_t a = 0; a < axis; ++a)
    outer *= rt.shape[a];
  int64_t outRun = rt.byteSize() / std::max<int64_t>(outer, 1);
  llvm::IRBuilder<> &b = ctx.b();
  std::vector<llvm::Value *> ins;
  for (size_t i = 0; i < op.operands.size(); ++i)
    ins.push_back(ctx.operandPtr(i));
  llvm::Value *out = ctx.resultPtr(0);
  if (rt.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  ctx.emitLoop(0, outer, 1, [&](llvm::Value *o) {
    int64_t at = 0;
    for (size_t i = 0; i < op.operands.size(); ++i) {
      int64_t run = op.operand(i)->type.byteSize() / outer;
      if (run == 0)
        continue;
      llvm::Value *dst = b.CreateInBoundsGEP(
          b.getInt8Ty(), out, b.CreateAdd(b.CreateMul(o, ctx.i64(outRun)), ctx.i64(at)));
      llvm::Value *src = b.CreateInBoundsGEP(b.getInt8Ty(), ins[i],
                                             b.CreateMul(o, ctx.i64(run)));
      b.CreateMemCpy(dst, llvm::MaybeAlign(es), src, llvm::MaybeAlign(es), run);
      at += run;
    }
  }, "o");
  ctx.finish();
  return absl::OkStatus();
}

namespace {

/// Copies `count` elements of type `t` from in[src ..] to out[dst ..] with
/// W-lane vector moves, then single elements.
void emitRunCopy(LoweringContext &ctx, llvm::Type *t, llvm::Value *in, llvm::Value *src,
                 llvm::Value *out, llvm::Value *dst, int64_t count) {
  llvm::IRBuilder<> &b = ctx.b();
  int w = ctx.vectorWidth();
  int64_t vectorEnd = w > 1 ? count / w * w : 0;
  auto move = [&](llvm::Value *j, int lanes) {
    llvm::Type *vt = ctx.vectorOf(t, lanes);
    ctx.store(ctx.load(vt, t, in, b.CreateAdd(src, j)), t, out, b.CreateAdd(dst, j));
  };
  ctx.emitLoop(0, vectorEnd, w, [&](llvm::Value *j) { move(j, w); }, "mv");
  ctx.emitLoop(vectorEnd, count, 1, [&](llvm::Value *j) { move(j, 1); }, "ms");
}

} // namespace

absl::Status lowerGather(const Op &op, LoweringContext &ctx) {
  // Every index is checked before anything is written (the reference
  // reports a bad index even when the result is empty), then each of the
  // outer x indices runs of `inner` elements is copied; negative indices
  // count from the end of the axis.
  const TensorType &data = op.operand(0)->type, &indices = op.operand(1)->type;
  int64_t rank = data.rank();
  int64_t axis = op.attrs.getInt("axis");
  if (axis < 0)
    axis += rank;
  int64_t dim = data.shape[axis], outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      (d < axis ? outer : inner) *= data.shape[d];
  int64_t numIndices = indices.numElements();
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *t = b.getIntNTy(8 * dtypeSize(data.dtype));
  llvm::Type *it = indices.dtype == DType::I32 ? b.getInt32Ty() : b.getInt64Ty();
  llvm::Value *in = ctx.operandPtr(0), *idx = ctx.operandPtr(1), *out = ctx.resultPtr(0);
  auto indexAt = [&](llvm::Value *j, int lanes) {
    llvm::Value *v = ctx.load(ctx.vectorOf(it, lanes), it, idx, j);
    return b.CreateSExt(v, ctx.vectorOf(b.getInt64Ty(), lanes));
  };
  auto splat = [&](int64_t v, int lanes) {
    return llvm::ConstantInt::get(ctx.vectorOf(b.getInt64Ty(), lanes), v, true);
  };
  int w = ctx.vectorWidth();
  int64_t vectorEnd = w > 1 ? numIndices / w * w : 0;
  auto check = [&](llvm::Value *j, int lanes) {
    llvm::Value *v = indexAt(j, lanes);
    llvm::Value *bad = b.CreateOr(b.CreateICmpSLT(v, splat(-dim, lanes)),
                                  b.CreateICmpSGE(v, splat(dim, lanes)));
    ctx.failIf(lanes > 1 ? b.CreateOrReduce(bad) : bad, KernelError::IndexOutOfRange);
  };
  ctx.emitLoop(0, vectorEnd, w, [&](llvm::Value *j) { check(j, w); }, "cv");
  ctx.emitLoop(vectorEnd, numIndices, 1, [&](llvm::Value *j) { check(j, 1); }, "cs");
  if (op.result(0)->type.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  ctx.emitLoop(0, outer, 1, [&](llvm::Value *o) {
    ctx.emitLoop(0, numIndices, 1, [&](llvm::Value *j) {
      llvm::Value *v = indexAt(j, 1);
      v = b.CreateSelect(b.CreateICmpSLT(v, ctx.i64(0)), b.CreateAdd(v, ctx.i64(dim)), v);
      llvm::Value *src = b.CreateMul(b.CreateAdd(b.CreateMul(o, ctx.i64(dim)), v),
                                     ctx.i64(inner));
      llvm::Value *dst = b.CreateMul(
          b.CreateAdd(b.CreateMul(o, ctx.i64(numIndices)), j), ctx.i64(inner));
      emitRunCopy(ctx, t, in, src, out, dst, inner);
    }, "j");
  }, "o");
  ctx.finish();
  return absl::OkStatus();
}

absl::Status lowerConstant(const Op &op, LoweringContext &) {
  return absl::InternalError("constants are bound by the engine, not lowered");
}
absl::Status lowerReshape(const Op &op, LoweringContext &ctx) { return lowerCopy(op, ctx); }
absl::Status lowerSqueeze(const Op &op, LoweringContext &ctx) { return lowerCopy(op, ctx); }
absl::Status lowerUnsqueeze(const Op &op, LoweringContext &ctx) { return lowerCopy(op, ctx); }
absl::Status lowerFlatten(const Op &op, LoweringContext &ctx) { return lowerCopy(op, ctx); }

} // namespace tcpu
