//===- Layout.cpp - Lowering of to_blocked and from_blocked ---------------===//
//
// Both reorders write contiguous vectors and gather their lanes (one
// masked gather per stored vector): to_blocked stores one vector of B
// channel lanes per pixel, gathered at stride H*W from B channel planes
// (lanes past C masked off, so they store 0); from_blocked stores VW
// pixels of one channel plane, gathered at stride B, except that B x B
// tiles (B a power of two) are transposed in registers. The pass leaves them
// only at the edges of blocked regions, so they are simple rather than
// optimal; the work is split over (image, block, pixel chunk), small
// enough chunks that the gathers hit L1.
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"
#include "ir/IntMath.h"

#include <functional>

namespace tcpu {

namespace {

/// Pixels per parallel index: the chunk's lines (256 pixels of 16 lanes,
/// 16 KB) stay in L1 while each is read once per lane or channel.
constexpr int64_t kChunk = 256;


/// <lanes x i64> of base + l * stride.
llvm::Value *strided(LoweringContext &ctx, llvm::Value *base, int64_t stride,
                     int lanes) {
  llvm::IRBuilder<> &b = ctx.b();
  std::vector<llvm::Constant *> steps;
  for (int l = 0; l < lanes; ++l)
    steps.push_back(b.getInt64(l * stride));
  return b.CreateAdd(b.CreateVectorSplat(lanes, base),
                     llvm::ConstantVector::get(steps));
}

/// <lanes x i1>: l < limit (limit an i64).
llvm::Value *lanesBelow(LoweringContext &ctx, llvm::Value *limit, int lanes) {
  llvm::IRBuilder<> &b = ctx.b();
  return b.CreateICmpSLT(strided(ctx, b.getInt64(0), 1, lanes),
                         b.CreateVectorSplat(lanes, limit));
}

llvm::Value *gather(LoweringContext &ctx, llvm::Value *base,
                    llvm::Value *indices, llvm::Value *mask, int lanes) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *vt = ctx.vectorOf(b.getFloatTy(), lanes);
  llvm::Value *ptrs = b.CreateGEP(b.getFloatTy(), base, indices);
  return b.CreateMaskedGather(vt, ptrs, llvm::Align(4), mask,
                              llvm::Constant::getNullValue(vt));
}

/// The transpose of the V x V matrix whose rows are `rows` (V a power of
/// two): log2(V) rounds of interleaving row i with row i + V/2.
std::vector<llvm::Value *> transpose(LoweringContext &ctx,
                                     std::vector<llvm::Value *> rows) {
  llvm::IRBuilder<> &b = ctx.b();
  const int V = static_cast<int>(rows.size());
  std::vector<int> lo, hi;
  for (int t = 0; t < V / 2; ++t) {
    lo.insert(lo.end(), {t, t + V});
    hi.insert(hi.end(), {t + V / 2, t + V / 2 + V});
  }
  for (int round = 1; round < V; round *= 2) {
    std::vector<llvm::Value *> next;
    for (int i = 0; i < V / 2; ++i) {
      next.push_back(b.CreateShuffleVector(rows[i], rows[i + V / 2], lo));
      next.push_back(b.CreateShuffleVector(rows[i], rows[i + V / 2], hi));
    }
    rows = std::move(next);
  }
  return rows;
}

/// One parallel index of a reorder: image n, channel block ncb % Cb (ncb =
/// n * Cb + block) whose first channel is c0, pixels [p0, p1).
struct Unit {
  llvm::Value *n, *ncb, *c0, *p0, *p1;
};

/// Emits body(unit) for every (image, block, pixel chunk) of a blocked
/// [N, Cb, P, B] tensor, the indices split over the model's threads.
void forEachUnit(LoweringContext &ctx, int64_t N, int64_t Cb, int64_t P,
                 int64_t B, std::vector<llvm::Value *> &values,
                 const std::function<void(const Unit &)> &body) {
  const int64_t chunks = ceilDiv(P, kChunk);
  ctx.emitParallelFor(N * Cb * chunks, 1, values, [&](llvm::Value *first,
                                                       llvm::Value *last) {
    llvm::IRBuilder<> &b = ctx.b();
    ctx.emitLoop(first, last, 1, [&](llvm::Value *u) {
      Unit un;
      llvm::Value *chunk = b.CreateSRem(u, ctx.i64(chunks));
      un.ncb = b.CreateSDiv(u, ctx.i64(chunks));
      un.n = b.CreateSDiv(un.ncb, ctx.i64(Cb));
      un.c0 = b.CreateMul(b.CreateSRem(un.ncb, ctx.i64(Cb)), ctx.i64(B));
      un.p0 = b.CreateMul(chunk, ctx.i64(kChunk));
      un.p1 = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin,
                                      b.CreateAdd(un.p0, ctx.i64(kChunk)),
                                      ctx.i64(P));
      body(un);
    }, "u");
  });
}

absl::Status checkF32(const Op &op) {
  if (op.operand(0)->type.dtype != DType::F32)
    return absl::UnimplementedError(std::string(op.mnemonic()) +
                                    " is lowered for f32 only");
  return absl::OkStatus();
}

} // namespace

absl::Status lowerToBlocked(const Op &op, LoweringContext &ctx) {
  if (absl::Status s = checkF32(op); !s.ok())
    return s;
  const Shape &ys = op.result()->type.shape;
  const int64_t N = ys[0], Cb = ys[1], P = ys[2] * ys[3], B = ys[4];
  const int64_t C = op.operand(0)->type.shape[1];
  std::vector<llvm::Value *> values = {ctx.operandPtr(0), ctx.resultPtr(0)};
  forEachUnit(ctx, N, Cb, P, B, values, [&](const Unit &u) {
    llvm::IRBuilder<> &b = ctx.b();
    // Channel c0 + l of image n starts at (n*C + c0 + l) * P.
    llvm::Value *mask =
        lanesBelow(ctx, b.CreateSub(ctx.i64(C), u.c0), static_cast<int>(B));
    llvm::Value *src0 = b.CreateMul(
        b.CreateAdd(b.CreateMul(u.n, ctx.i64(C)), u.c0), ctx.i64(P));
    llvm::Value *dst0 = b.CreateMul(u.ncb, ctx.i64(P));
    ctx.emitLoop(u.p0, u.p1, 1, [&](llvm::Value *p) {
      llvm::Value *v =
          gather(ctx, values[0], strided(ctx, b.CreateAdd(src0, p), P, B),
                 mask, static_cast<int>(B));
      ctx.store(v, b.getFloatTy(), values[1],
                b.CreateMul(b.CreateAdd(dst0, p), ctx.i64(B)));
    }, "p");
  });
  ctx.finish();
  return absl::OkStatus();
}

absl::Status lowerFromBlocked(const Op &op, LoweringContext &ctx) {
  if (absl::Status s = checkF32(op); !s.ok())
    return s;
  const Shape &xs = op.operand(0)->type.shape;
  const int64_t N = xs[0], Cb = xs[1], P = xs[2] * xs[3], B = xs[4];
  const int64_t C = op.result()->type.shape[1];
  const int VW = ctx.vectorWidth();
  const bool transposable = B >= 2 && B <= 64 && (B & (B - 1)) == 0;
  std::vector<llvm::Value *> values = {ctx.operandPtr(0), ctx.resultPtr(0)};
  // One unit's kChunk * B floats stay in L1 while the B channel rows are
  // gathered from them.
  forEachUnit(ctx, N, Cb, P, B, values, [&](const Unit &u) {
    llvm::IRBuilder<> &b = ctx.b();
    llvm::Type *f32 = b.getFloatTy();
    llvm::Value *p0 = u.p0, *p1 = u.p1, *c0 = u.c0;
    llvm::Value *lanes = b.CreateBinaryIntrinsic(
        llvm::Intrinsic::smin, b.CreateSub(ctx.i64(C), c0), ctx.i64(B));
    llvm::Value *src0 = b.CreateMul(u.ncb, ctx.i64(P * B));
    llvm::Value *row0 = b.CreateAdd(b.CreateMul(u.n, ctx.i64(C)), c0);
    if (transposable) {
      // B pixels at a time: B vectors of B lanes, transposed in
      // registers into B channel rows (rows past C masked off).
      llvm::Value *pFull = b.CreateAdd(
          p0, b.CreateMul(b.CreateSDiv(b.CreateSub(p1, p0), ctx.i64(B)),
                          ctx.i64(B)));
      llvm::Type *vt = ctx.vectorOf(f32, static_cast<int>(B));
      ctx.emitLoop(p0, pFull, B, [&](llvm::Value *p) {
        std::vector<llvm::Value *> rows;
        for (int64_t i = 0; i < B; ++i)
          rows.push_back(ctx.load(
              vt, f32, values[0],
              b.CreateAdd(src0, b.CreateMul(b.CreateAdd(p, ctx.i64(i)),
                                            ctx.i64(B)))));
        std::vector<llvm::Value *> cols = transpose(ctx, rows);
        for (int64_t l = 0; l < B; ++l) {
          llvm::Value *dst = b.CreateAdd(
              b.CreateMul(b.CreateAdd(row0, ctx.i64(l)), ctx.i64(P)), p);
          b.CreateMaskedStore(
              cols[l], b.CreateGEP(f32, values[1], dst), llvm::Align(4),
              b.CreateVectorSplat(static_cast<unsigned>(B),
                                  b.CreateICmpSLT(ctx.i64(l), lanes)));
        }
      }, "pt");
      p0 = pFull; // the gathers below do the last pixels
    }
    ctx.emitLoop(ctx.i64(0), lanes, 1, [&](llvm::Value *l) {
      // Channel c0 + l: out row (n*C + c0 + l), pixel p at in[p*B + l].
      llvm::Value *dst0 = b.CreateMul(b.CreateAdd(row0, l), ctx.i64(P));
      ctx.emitLoop(p0, p1, VW, [&](llvm::Value *p) {
        llvm::Value *mask = lanesBelow(ctx, b.CreateSub(p1, p), VW);
        llvm::Value *idx = strided(
            ctx, b.CreateAdd(b.CreateAdd(src0, b.CreateMul(p, ctx.i64(B))), l),
            B, VW);
        llvm::Value *v = gather(ctx, values[0], idx, mask, VW);
        b.CreateMaskedStore(
            v, b.CreateGEP(f32, values[1], b.CreateAdd(dst0, p)),
            llvm::Align(4), mask);
      }, "p");
    }, "c");
  });
  ctx.finish();
  return absl::OkStatus();
}

} // namespace tcpu
