//===- Linalg.cpp - Lowering of matmul, gemm and linear ------------------===//
//
// f32: a call to a kernel from emitGemmFunction (codegen/Gemm.h): packed
// panels, register blocking, cache blocking, threads through the runtime's C
// ABI.
// - linear (any rank of x, weight [N, K]): one GEMM with transB, the bias in
//   the epilogue.
// - matmul (NumPy semantics: 1-D operands promoted, batch dims broadcast):
//   when the rhs has no batch and the lhs is not broadcast, the batches fold
//   into M (one GEMM); otherwise a loop over the batch calls the kernel on
//   each (lhs, rhs, out) matrix triple, broadcast dims reusing a matrix.
// - gemm (ONNX Gemm): transposes and alpha map onto the kernel; C with
//   beta == 1 onto the epilogue (per-column or per-row bias, or a full
//   residual); any other C (beta != 1, a scalar or [1, 1] C) is added by a
//   pass over the result: y = f32(y + beta * c), in double.
// - K = 0: the product is 0, so the result is alpha * 0 [+ beta * C] [+ bias];
//   empty results do nothing.
// f32 operands defined by constants (weights) are packed into the kernel's
// panels at compile time (lower/Prepack.h) when one matrix serves every
// call: linear's weight, matmul's rhs without batch dims (or lhs when it is
// one matrix), either gemm factor.
// f16 and bf16: the operands are widened into f32 temporaries, the f32
// kernel runs, and a pass rounds the f32 result (plus C or bias) to the
// dtype. The temporaries live in one tcpu_thread_scratch buffer, followed by
// the kernel's packing scratch (passed explicitly, so the kernel never asks
// for the same thread's buffer while the temporaries use it).
// Integers (i8, u8, i32, i64): a plain loop accumulating in i64 with wrapping
// (vectorized over columns when they are contiguous), then the reference's
// store: saturation to the dtype; gemm with alpha and beta small integers
// stays in wrapping integers, other alpha/beta go through double and
// truncate, as the reference.
// Numerics against the reference (double accumulation): f32 within the
// GEMM's error, about K * 2^-24 relative per dot product (see
// test/unit/codegen/GemmOpCodegenTest.cpp); f16/bf16 within 1 ulp of the
// 16-bit type plus that; integers exact.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "ir/IntMath.h"
#include "codegen/Lowering.h"
#include "codegen/lower/Prepack.h"
#include "codegen/lower/RowSupport.h"

#include <cmath>

namespace tcpu {

namespace {

using namespace rows;


/// Emits the kernel of an f32 product of operands 0 x 1, those that are
/// constants packed at compile time (their operandPtr then points at the
/// panels).
absl::StatusOr<GemmKernel> emitF32Gemm(LoweringContext &ctx,
                                       const GemmShape &shape,
                                       const GemmEpilogue &epilogue = {},
                                       bool mayPrepackA = true,
                                       bool mayPrepackB = true) {
  GemmOptions o;
  o.prepackedA = mayPrepackA && prepackable(ctx, 0);
  o.prepackedB = mayPrepackB && prepackable(ctx, 1);
  absl::StatusOr<GemmKernel> kernel =
      emitGemmFunction(ctx.module(), ctx.target(), shape, epilogue,
                       ctx.function()->getName().str() + ".gemm", o);
  if (kernel.ok() && o.prepackedA)
    prepackOperand(ctx, 0, /*asA=*/true, shape, kernel->blocking);
  if (kernel.ok() && o.prepackedB)
    prepackOperand(ctx, 1, /*asA=*/false, shape, kernel->blocking);
  return kernel;
}

/// Calls a kernel for `shape` writing operands 0 x 1 into result 0;
/// `bias` and `residual` are operand indices or -1.
absl::Status emitGemmCall(LoweringContext &ctx, const GemmShape &shape,
                          const GemmEpilogue &epilogue, int bias,
                          int residual = -1) {
  absl::StatusOr<GemmKernel> kernel = emitF32Gemm(ctx, shape, epilogue);
  if (!kernel.ok())
    return kernel.status();
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Value *null = llvm::ConstantPointerNull::get(b.getPtrTy());
  b.CreateCall(kernel->function,
               {ctx.operandPtr(0), ctx.operandPtr(1), ctx.resultPtr(0),
                bias >= 0 ? ctx.operandPtr(bias) : null,
                residual >= 0 ? ctx.operandPtr(residual) : null, null});
  ctx.finish();
  return absl::OkStatus();
}

/// f32 views of the operands and the result for a float op: the buffers
/// themselves for f32; for f16/bf16 f32 copies (and an f32 result) in one
/// tcpu_thread_scratch buffer, after which the GEMM kernel's packing
/// scratch follows.
struct F32Views {
  std::vector<llvm::Value *> operands;
  llvm::Value *result = nullptr;
  /// The `scratch` argument of the GEMM kernel (null: its own).
  llvm::Value *gemmScratch = nullptr;
};

int64_t roundUp64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

/// Widens (or copies) `count` elements of dtype `from` at `src` into `to`
/// at `dst` (float dtypes; f16/bf16 rounded to nearest even on store).
void emitConvert(LoweringContext &ctx, DType from, llvm::Value *src, DType to,
                 llvm::Value *dst, int64_t count) {
  forLanes(ctx, count, [&](llvm::Value *j, int lanes) {
    lowp::storeF32(ctx, to, lowp::loadF32(ctx, from, lanes, src, j), dst, j);
  });
}

F32Views stageF32(LoweringContext &ctx, DType dt,
                  const std::vector<int> &operands, const GemmKernel *kernel) {
  F32Views v;
  const Op &op = ctx.op();
  for (size_t i = 0; i < op.operands.size(); ++i)
    v.operands.push_back(op.operand(i) ? ctx.operandPtr(i) : nullptr);
  v.result = ctx.resultPtr(0);
  if (dt == DType::F32)
    return v;
  llvm::IRBuilder<> &b = ctx.b();
  std::vector<int64_t> offsets;
  int64_t bytes = 0;
  for (int i : operands) {
    offsets.push_back(bytes);
    bytes += roundUp64(op.operand(i)->type.numElements() * 4);
  }
  int64_t resultOffset = bytes;
  bytes += roundUp64(op.result(0)->type.numElements() * 4);
  llvm::Type *i64 = b.getInt64Ty();
  llvm::Value *total = ctx.i64(bytes);
  if (kernel && kernel->scratchBytesPerThread > 0) {
    llvm::Value *threads = b.CreateCall(ctx.module().getOrInsertFunction(
        "tcpu_num_threads", llvm::FunctionType::get(i64, false)));
    total = b.CreateAdd(
        total, b.CreateMul(threads, ctx.i64(kernel->scratchBytesPerThread)));
  }
  llvm::Value *base =
      b.CreateCall(ctx.module().getOrInsertFunction(
                       "tcpu_thread_scratch",
                       llvm::FunctionType::get(b.getPtrTy(), {i64}, false)),
                   {total});
  auto at = [&](int64_t offset) {
    return b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), base, offset);
  };
  for (size_t k = 0; k < operands.size(); ++k) {
    int i = operands[k];
    llvm::Value *dst = at(offsets[k]);
    emitConvert(ctx, dt, v.operands[i], DType::F32, dst,
                op.operand(i)->type.numElements());
    v.operands[i] = dst;
  }
  v.result = at(resultOffset);
  if (kernel)
    v.gemmScratch = at(bytes);
  return v;
}

/// Something added to every result element: scale * addend[i * strideM +
/// j * strideN] (dtype `dtype`, a float dtype).
struct Addend {
  llvm::Value *ptr = nullptr;
  DType dtype = DType::F32;
  int64_t strideM = 0, strideN = 0;
  double scale = 1.0;
};

/// The rows-by-columns pass that finishes a float op: out[i, j] =
/// round(src[i, j] + addend) (src f32, or `zero` everywhere when null),
/// in double and rounded once to the result dtype `dt`.
void emitFinishPass(LoweringContext &ctx, DType dt, int64_t rows, int64_t cols,
                    llvm::Value *src, double zero, const Addend &add,
                    llvm::Value *out) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *f32 = b.getFloatTy();
  ctx.emitLoop(
      0, rows, 1,
      [&](llvm::Value *i) {
        llvm::Value *row = b.CreateMul(i, ctx.i64(cols));
        llvm::Value *rowAdd =
            add.ptr ? b.CreateMul(i, ctx.i64(add.strideM)) : nullptr;
        forLanes(ctx, cols, [&](llvm::Value *j, int lanes) {
          llvm::Value *at = b.CreateAdd(row, j);
          llvm::Value *v =
              src ? ctx.load(ctx.vectorOf(f32, lanes), f32, src, at)
                  : fconstOf(ctx.vectorOf(f32, lanes), zero);
          if (!add.ptr) {
            lowp::storeF32(ctx, dt, v, out, at);
            return;
          }
          llvm::Value *c;
          if (add.strideN == 0)
            c = splatTo(b, lowp::loadF32(ctx, add.dtype, 1, add.ptr, rowAdd),
                        lanes);
          else
            c = lowp::loadF32(ctx, add.dtype, lanes, add.ptr,
                              b.CreateAdd(rowAdd, j));
          llvm::Value *d = b.CreateFAdd(
              toDouble(b, v),
              b.CreateFMul(fconst(toDouble(b, c), add.scale), toDouble(b, c)));
          lowp::storeF32(ctx, dt, lowp::roundForStore(b, d, dt), out, at);
        });
      },
      "fi");
}

// ----- Integers
// ----------------------------------------------------------------

/// One integer operand matrix: element (r, c) at base + r * rowStride + c *
/// colStride.
struct IntMatrix {
  llvm::Value *ptr;
  llvm::Value *base;
  int64_t rowStride, colStride;
};

/// For i < M, j < N: acc = sum_k A(i, k) * B(k, j) in i64, wrapping, then
/// store(i, j, acc, lanes) with acc of `lanes` lanes (W adjacent j when B's
/// columns are contiguous).
void emitIntProduct(LoweringContext &ctx, DType dt, int64_t M, int64_t N,
                    int64_t K, const IntMatrix &a, const IntMatrix &bm,
                    const std::function<void(llvm::Value *, llvm::Value *,
                                             llvm::Value *, int)> &store) {
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Type *elem = *ctx.scalarType(dt), *i64 = b.getInt64Ty();
  bool s = isSignedInteger(dt);
  auto widen = [&](llvm::Value *v) {
    llvm::Type *t = withElement(v, i64);
    return s ? b.CreateSExt(v, t) : b.CreateZExt(v, t);
  };
  auto column = [&](llvm::Value *i, llvm::Value *j, int lanes) {
    Slot acc(ctx, ctx.vectorOf(i64, lanes));
    acc.set(llvm::ConstantInt::get(ctx.vectorOf(i64, lanes), 0));
    ctx.emitLoop(
        0, K, 1,
        [&](llvm::Value *k) {
          llvm::Value *x = widen(ctx.load(
              elem, elem, a.ptr,
              b.CreateAdd(a.base,
                          b.CreateAdd(b.CreateMul(i, ctx.i64(a.rowStride)),
                                      b.CreateMul(k, ctx.i64(a.colStride))))));
          llvm::Value *y = widen(ctx.load(
              ctx.vectorOf(elem, lanes), elem, bm.ptr,
              b.CreateAdd(bm.base,
                          b.CreateAdd(b.CreateMul(k, ctx.i64(bm.rowStride)),
                                      b.CreateMul(j, ctx.i64(bm.colStride))))));
          acc.set(b.CreateAdd(acc.get(), b.CreateMul(splatTo(b, x, lanes), y)));
        },
        "k");
    store(i, j, acc.get(), lanes);
  };
  ctx.emitLoop(
      0, M, 1,
      [&](llvm::Value *i) {
        if (bm.colStride == 1) {
          forLanes(ctx, N,
                   [&](llvm::Value *j, int lanes) { column(i, j, lanes); });
          return;
        }
        ctx.emitLoop(
            0, N, 1, [&](llvm::Value *j) { column(i, j, 1); }, "j");
      },
      "i");
}

/// i64 lanes saturated to integer dtype `dt` (Tensor::setElementFromInt).
llvm::Value *saturate(llvm::IRBuilder<> &b, llvm::Value *v, DType dt,
                      llvm::Type *elem) {
  int64_t lo, hi;
  switch (dt) {
  case DType::I8:
    lo = INT8_MIN;
    hi = INT8_MAX;
    break;
  case DType::U8:
    lo = 0;
    hi = UINT8_MAX;
    break;
  case DType::I32:
    lo = INT32_MIN;
    hi = INT32_MAX;
    break;
  default:
    return v;
  }
  auto c = [&](int64_t x) {
    return llvm::ConstantInt::get(v->getType(), x, true);
  };
  v = b.CreateSelect(b.CreateICmpSLT(v, c(lo)), c(lo), v);
  v = b.CreateSelect(b.CreateICmpSGT(v, c(hi)), c(hi), v);
  return b.CreateTrunc(v, withElement(v, elem));
}

} // namespace

absl::Status lowerLinear(const Op &op, LoweringContext &ctx) {
  const TensorType &x = op.operand(0)->type, &w = op.operand(1)->type;
  const TensorType &y = op.result(0)->type;
  DType dt = x.dtype;
  int64_t K = w.shape[1], N = w.shape[0];
  int64_t M = product(x.shape, 0, x.shape.size() - 1);
  bool hasBias = op.operand(2) != nullptr;
  if (y.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  llvm::IRBuilder<> &b = ctx.b();
  if (!isFloat(dt)) {
    llvm::Value *out = ctx.resultPtr(0);
    llvm::Value *bias = hasBias ? ctx.operandPtr(2) : nullptr;
    llvm::Type *elem = *ctx.scalarType(dt);
    bool s = isSignedInteger(dt);
    emitIntProduct(
        ctx, dt, M, N, K, {ctx.operandPtr(0), ctx.i64(0), K, 1},
        {ctx.operandPtr(1), ctx.i64(0), 1, K},
        [&](llvm::Value *i, llvm::Value *j, llvm::Value *acc, int lanes) {
          if (bias) {
            llvm::Value *v = ctx.load(ctx.vectorOf(elem, lanes), elem, bias, j);
            v = s ? b.CreateSExt(v, acc->getType())
                  : b.CreateZExt(v, acc->getType());
            acc = b.CreateAdd(acc, v);
          }
          ctx.store(saturate(b, acc, dt, elem), elem, out,
                    b.CreateAdd(b.CreateMul(i, ctx.i64(N)), j));
        });
    ctx.finish();
    return absl::OkStatus();
  }
  Addend bias;
  if (hasBias)
    bias = {ctx.operandPtr(2), dt, 0, 1, 1.0};
  if (K == 0) { // y = 0 + bias
    emitFinishPass(ctx, dt, M, N, nullptr, 0.0, bias, ctx.resultPtr(0));
    ctx.finish();
    return absl::OkStatus();
  }
  GemmShape s;
  s.M = M;
  s.N = N;
  s.K = K;
  s.transB = true;
  if (dt == DType::F32) {
    GemmEpilogue e;
    if (hasBias)
      e.bias = GemmEpilogue::Bias::PerColumn;
    return emitGemmCall(ctx, s, e, hasBias ? 2 : -1);
  }
  absl::StatusOr<GemmKernel> kernel =
      emitGemmFunction(ctx.module(), ctx.target(), s, {},
                       ctx.function()->getName().str() + ".gemm");
  if (!kernel.ok())
    return kernel.status();
  F32Views v = stageF32(ctx, dt, {0, 1}, &*kernel);
  llvm::Value *null = llvm::ConstantPointerNull::get(b.getPtrTy());
  b.CreateCall(kernel->function, {v.operands[0], v.operands[1], v.result, null,
                                  null, v.gemmScratch});
  emitFinishPass(ctx, dt, M, N, v.result, 0.0, bias, ctx.resultPtr(0));
  ctx.finish();
  return absl::OkStatus();
}

absl::Status lowerMatmul(const Op &op, LoweringContext &ctx) {
  const TensorType &at = op.operand(0)->type, &bt = op.operand(1)->type;
  DType dt = at.dtype;
  // NumPy promotion: [K] is [1, K] as the lhs and [K, 1] as the rhs.
  Shape lhs = at.shape, rhs = bt.shape;
  if (lhs.size() == 1)
    lhs.insert(lhs.begin(), 1);
  if (rhs.size() == 1)
    rhs.push_back(1);
  int64_t M = lhs[lhs.size() - 2], K = lhs.back(), N = rhs.back();
  // Batch dims, right-aligned; each operand's batch strides in matrices (0
  // where it is broadcast).
  size_t la = lhs.size() - 2, ra = rhs.size() - 2, rank = std::max(la, ra);
  Shape batch(rank, 1);
  std::vector<int64_t> aStride(rank, 0), bStride(rank, 0);
  for (size_t i = 0, as = 1, bs = 1; i < rank; ++i) {
    size_t d = rank - 1 - i;
    int64_t ad = i < la ? lhs[la - 1 - i] : 1,
            bd = i < ra ? rhs[ra - 1 - i] : 1;
    batch[d] = std::max(ad, bd);
    if (ad == 0 || bd == 0)
      batch[d] = 0;
    aStride[d] = ad == 1 ? 0 : static_cast<int64_t>(as);
    bStride[d] = bd == 1 ? 0 : static_cast<int64_t>(bs);
    as *= static_cast<size_t>(ad);
    bs *= static_cast<size_t>(bd);
  }
  int64_t batches = product(batch, 0, rank);
  int64_t aBatches = product(lhs, 0, la), bBatches = product(rhs, 0, ra);
  if (op.result(0)->type.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  llvm::IRBuilder<> &b = ctx.b();
  // Matrix offsets (in matrices) of the lhs and rhs of flat batch index bi.
  auto offsets =
      [&](llvm::Value *bi) -> std::pair<llvm::Value *, llvm::Value *> {
    llvm::Value *ao = ctx.i64(0), *bo = ctx.i64(0), *rest = bi;
    for (size_t d = rank; d-- > 0;) {
      llvm::Value *coord = b.CreateURem(rest, ctx.i64(batch[d]));
      rest = b.CreateUDiv(rest, ctx.i64(batch[d]));
      ao = b.CreateAdd(ao, b.CreateMul(coord, ctx.i64(aStride[d])));
      bo = b.CreateAdd(bo, b.CreateMul(coord, ctx.i64(bStride[d])));
    }
    return {ao, bo};
  };

  if (!isFloat(dt)) {
    llvm::Value *out = ctx.resultPtr(0);
    llvm::Type *elem = *ctx.scalarType(dt);
    ctx.emitLoop(
        0, batches, 1,
        [&](llvm::Value *bi) {
          auto [ao, bo] = offsets(bi);
          llvm::Value *outBase = b.CreateMul(bi, ctx.i64(M * N));
          emitIntProduct(
              ctx, dt, M, N, K,
              {ctx.operandPtr(0), b.CreateMul(ao, ctx.i64(M * K)), K, 1},
              {ctx.operandPtr(1), b.CreateMul(bo, ctx.i64(K * N)), N, 1},
              [&](llvm::Value *i, llvm::Value *j, llvm::Value *acc, int) {
                ctx.store(
                    saturate(b, acc, dt, elem), elem, out,
                    b.CreateAdd(outBase,
                                b.CreateAdd(b.CreateMul(i, ctx.i64(N)), j)));
              });
        },
        "batch");
    ctx.finish();
    return absl::OkStatus();
  }
  if (K == 0) {
    emitFinishPass(ctx, dt, batches * M, N, nullptr, 0.0, {}, ctx.resultPtr(0));
    ctx.finish();
    return absl::OkStatus();
  }
  // The rhs shared by every batch and the lhs batches dense: one GEMM.
  bool fold = bBatches == 1 && aBatches == batches;
  GemmShape s;
  s.M = fold ? batches * M : M;
  s.N = N;
  s.K = K;
  // f32: a constant operand that is one matrix for every batch (or, folded,
  // the lhs of all of them) is packed once.
  absl::StatusOr<GemmKernel> kernel =
      dt == DType::F32
          ? emitF32Gemm(ctx, s, {}, fold || aBatches == 1, bBatches == 1)
          : emitGemmFunction(ctx.module(), ctx.target(), s, {},
                             ctx.function()->getName().str() + ".gemm");
  if (!kernel.ok())
    return kernel.status();
  F32Views v = stageF32(ctx, dt, {0, 1}, &*kernel);
  llvm::Type *f32 = b.getFloatTy();
  llvm::Value *null = llvm::ConstantPointerNull::get(b.getPtrTy());
  llvm::Value *scratch = v.gemmScratch ? v.gemmScratch : null;
  if (fold) {
    b.CreateCall(kernel->function,
                 {v.operands[0], v.operands[1], v.result, null, null, scratch});
  } else {
    ctx.emitLoop(
        0, batches, 1,
        [&](llvm::Value *bi) {
          auto [ao, bo] = offsets(bi);
          llvm::Value *a = b.CreateInBoundsGEP(f32, v.operands[0],
                                               b.CreateMul(ao, ctx.i64(M * K)));
          llvm::Value *bb = b.CreateInBoundsGEP(
              f32, v.operands[1], b.CreateMul(bo, ctx.i64(K * N)));
          llvm::Value *c = b.CreateInBoundsGEP(f32, v.result,
                                               b.CreateMul(bi, ctx.i64(M * N)));
          b.CreateCall(kernel->function, {a, bb, c, null, null, scratch});
        },
        "batch");
  }
  if (dt != DType::F32)
    emitFinishPass(ctx, dt, batches * M, N, v.result, 0.0, {},
                   ctx.resultPtr(0));
  ctx.finish();
  return absl::OkStatus();
}

absl::Status lowerGemm(const Op &op, LoweringContext &ctx) {
  const TensorType &a = op.operand(0)->type, &y = op.result(0)->type;
  DType dt = a.dtype;
  GemmShape s;
  s.transA = op.attrs.getInt("trans_a") != 0;
  s.transB = op.attrs.getInt("trans_b") != 0;
  s.M = y.shape[0];
  s.N = y.shape[1];
  s.K = s.transA ? a.shape[0] : a.shape[1];
  double alpha = op.attrs.getFloat("alpha", 1.0),
         beta = op.attrs.getFloat("beta", 1.0);
  s.alpha = static_cast<float>(alpha);
  if (y.numElements() == 0) {
    ctx.finish();
    return absl::OkStatus();
  }
  // C broadcasts to [M, N]: strides over (i, j), 0 where broadcast.
  const Value *c = op.operand(2);
  int64_t cRows = 1, cCols = 1;
  if (c) {
    const Shape &cs = c->type.shape;
    cRows = cs.size() == 2 ? cs[0] : 1;
    cCols = cs.empty() ? 1 : cs.back();
  }
  Addend addC;
  if (c)
    addC = {ctx.operandPtr(2), dt, cRows == 1 ? 0 : cCols, cCols == 1 ? 0 : 1,
            beta};
  llvm::IRBuilder<> &b = ctx.b();

  if (!isFloat(dt)) {
    auto smallInt = [](double v) {
      return std::nearbyint(v) == v && std::fabs(v) <= 2147483648.0;
    };
    bool exact = smallInt(alpha) && smallInt(beta);
    llvm::Value *out = ctx.resultPtr(0);
    llvm::Type *elem = *ctx.scalarType(dt);
    bool sg = isSignedInteger(dt);
    int64_t lda = a.shape[1], ldb = op.operand(1)->type.shape[1];
    IntMatrix am{ctx.operandPtr(0), ctx.i64(0), s.transA ? 1 : lda,
                 s.transA ? lda : 1};
    IntMatrix bm{ctx.operandPtr(1), ctx.i64(0), s.transB ? 1 : ldb,
                 s.transB ? ldb : 1};
    emitIntProduct(
        ctx, dt, s.M, s.N, s.K, am, bm,
        [&](llvm::Value *i, llvm::Value *j, llvm::Value *acc, int lanes) {
          llvm::Value *cv = nullptr;
          if (c) {
            llvm::Value *at =
                b.CreateAdd(b.CreateMul(i, ctx.i64(addC.strideM)),
                            b.CreateMul(j, ctx.i64(addC.strideN)));
            cv = addC.strideN == 0
                     ? splatTo(b, ctx.load(elem, elem, addC.ptr, at), lanes)
                     : ctx.load(ctx.vectorOf(elem, lanes), elem, addC.ptr, at);
            cv = sg ? b.CreateSExt(cv, acc->getType())
                    : b.CreateZExt(cv, acc->getType());
          }
          llvm::Value *r;
          if (exact) {
            auto k = [&](double v) {
              return llvm::ConstantInt::get(
                  acc->getType(),
                  static_cast<uint64_t>(static_cast<int64_t>(v)));
            };
            r = b.CreateMul(k(alpha), acc);
            if (cv)
              r = b.CreateAdd(r, b.CreateMul(k(beta), cv));
            r = saturate(b, r, dt, elem);
          } else {
            llvm::Type *f64 = withElement(acc, b.getDoubleTy());
            llvm::Value *d = b.CreateFMul(llvm::ConstantFP::get(f64, alpha),
                                          b.CreateSIToFP(acc, f64));
            if (cv)
              d = b.CreateFAdd(d, b.CreateFMul(llvm::ConstantFP::get(f64, beta),
                                               b.CreateSIToFP(cv, f64)));
            auto id = dt == DType::U8 ? llvm::Intrinsic::fptoui_sat
                                      : llvm::Intrinsic::fptosi_sat;
            r = b.CreateIntrinsic(id, {withElement(acc, elem), f64}, {d});
          }
          ctx.store(r, elem, out, b.CreateAdd(b.CreateMul(i, ctx.i64(s.N)), j));
        });
    ctx.finish();
    return absl::OkStatus();
  }
  if (s.K == 0) { // alpha * 0 [+ beta * C]
    emitFinishPass(ctx, dt, s.M, s.N, nullptr, alpha * 0.0, addC,
                   ctx.resultPtr(0));
    ctx.finish();
    return absl::OkStatus();
  }
  if (dt == DType::F32) {
    GemmEpilogue e;
    if (!c)
      return emitGemmCall(ctx, s, e, -1);
    if (beta == 1.0) {
      if (cRows == s.M && cCols == s.N && c->type.numElements() == s.M * s.N) {
        e.residual = true;
        return emitGemmCall(ctx, s, e, -1, 2);
      }
      if (cRows == 1 && cCols == s.N && s.N > 1) {
        e.bias = GemmEpilogue::Bias::PerColumn;
        return emitGemmCall(ctx, s, e, 2);
      }
      if (cRows == s.M && cCols == 1 && s.M > 1) {
        e.bias = GemmEpilogue::Bias::PerRow;
        return emitGemmCall(ctx, s, e, 2);
      }
    }
  }
  // The product into the result (or an f32 temporary), then C added by a
  // pass in double.
  absl::StatusOr<GemmKernel> kernel =
      dt == DType::F32 ? emitF32Gemm(ctx, s)
                       : emitGemmFunction(ctx.module(), ctx.target(), s, {},
                                          ctx.function()->getName().str() +
                                              ".gemm");
  if (!kernel.ok())
    return kernel.status();
  F32Views v = stageF32(ctx, dt, {0, 1}, &*kernel);
  llvm::Value *null = llvm::ConstantPointerNull::get(b.getPtrTy());
  b.CreateCall(kernel->function, {v.operands[0], v.operands[1], v.result, null,
                                  null, v.gemmScratch ? v.gemmScratch : null});
  if (c || dt != DType::F32)
    emitFinishPass(ctx, dt, s.M, s.N, v.result, 0.0, addC, ctx.resultPtr(0));
  ctx.finish();
  return absl::OkStatus();
}

} // namespace tcpu
