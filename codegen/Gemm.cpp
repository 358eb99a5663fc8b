//===- Gemm.cpp - fp32 GEMM generated as LLVM IR ---------------------------===//
//
// Loop nest of one task (a range of C rows or columns), BLIS-style with the
// roles of the operands chosen for row-major C: B supplies the vectors (NR
// columns = NR/W vectors), A the broadcast scalars (MR rows).
//
//   for mc in M by MC:                      packed A block (MC x KC): L3
//     for pc in K by KC:
//       pack A[mc, pc] -> Ap
//       for nc in N by NC:                  packed B block (KC x NC): L2
//         pack B[pc, nc] -> Bp              (unless B is read in place)
//         for ir in MC by MR:               A micro-panel (MR x KC): L1
//           for jr in NC by NR:             B micro-panels stream from L2
//             micro-kernel(Ap[ir], Bp[jr], C[mc+ir, nc+jr])
//
// Task boundaries and blocks are multiples of MR and NR, so only the last
// row and column of tiles are partial, and their sizes (M % MR, N % NR) are
// known when the kernel is generated: each gets its own micro-kernel.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Intrinsics.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tcpu {

namespace {

using namespace llvm;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }
int64_t roundDown(int64_t a, int64_t b) { return a / b * b; }

/// Stack packing buffers up to this size; larger ones come from the caller's
/// scratch or tcpu_thread_scratch (TBB worker stacks are a few MB).
constexpr int64_t kMaxStackScratch = 32 * 1024;
/// Multiply-adds a task should have at least to be worth a thread.
constexpr int64_t kMinTaskWork = int64_t(1) << 16;

struct GemmEmitter {
  Module &mod;
  LLVMContext &ctx;
  const TargetDescription &tgt;
  GemmShape s;
  GemmEpilogue e;
  GemmBlocking bl;
  GemmOptions opts;
  std::string name;

  int W = 1;
  Type *f32 = nullptr, *i64 = nullptr, *i32 = nullptr, *i1 = nullptr,
       *ptrTy = nullptr, *voidTy = nullptr;
  FixedVectorType *vecTy = nullptr;
  int64_t lda = 0, ldb = 0, ldc = 0, ldr = 0;
  bool singleK = false; // one K block: every micro-kernel call is first and last
  int64_t apFloats = 0, bpFloats = 0;

  GemmEmitter(Module &m, const TargetDescription &t, const GemmShape &shape,
              const GemmEpilogue &epi, const GemmBlocking &blocking,
              const GemmOptions &o, const std::string &n)
      : mod(m), ctx(m.getContext()), tgt(t), s(shape), e(epi), bl(blocking),
        opts(o), name(n) {
    W = std::max(1, t.f32VectorWidth);
    f32 = Type::getFloatTy(ctx);
    i64 = Type::getInt64Ty(ctx);
    i32 = Type::getInt32Ty(ctx);
    i1 = Type::getInt1Ty(ctx);
    ptrTy = PointerType::get(ctx, 0);
    voidTy = Type::getVoidTy(ctx);
    vecTy = FixedVectorType::get(f32, W);
    lda = s.lda ? s.lda : (s.transA ? s.M : s.K);
    ldb = s.ldb ? s.ldb : (s.transB ? s.K : s.N);
    ldc = s.ldc ? s.ldc : s.N;
    ldr = e.ldr ? e.ldr : s.N;
    singleK = s.K <= bl.KC;
    // Packed A: MC rows (rounded to MR) x KC; packed B: KC x NC (NC is a
    // multiple of NR). Both start 64-byte aligned.
    apFloats = roundUp(std::min(bl.MC, roundUp(s.M, bl.MR)) *
                           std::min(bl.KC, s.K),
                       16);
    bpFloats = bl.packB ? roundUp(std::min(bl.KC, s.K) *
                                      std::min(bl.NC, roundUp(s.N, bl.NR)),
                                  16)
                        : 0;
  }

  int64_t scratchBytes() const { return (apFloats + bpFloats) * 4; }

  void setAttributes(Function *f) {
    f->addFnAttr(Attribute::NoUnwind);
    if (!tgt.cpu.empty())
      f->addFnAttr("target-cpu", tgt.cpu);
    std::string features;
    for (const std::string &x : tgt.features)
      features += (features.empty() ? "+" : ",+") + x;
    if (!features.empty())
      f->addFnAttr("target-features", features);
    // Some CPUs (Ice Lake, Rocket Lake...) prefer 256-bit vectors, and the
    // backend then splits 512-bit types unless told the code needs them.
    std::string bits = std::to_string(W * 32);
    f->addFnAttr("min-legal-vector-width", bits);
    f->addFnAttr("prefer-vector-width", bits);
  }

  Function *makeFunction(const Twine &n, FunctionType *ty, bool internal) {
    Function *f =
        Function::Create(ty, internal ? GlobalValue::InternalLinkage
                                      : GlobalValue::ExternalLinkage,
                         n, mod);
    setAttributes(f);
    return f;
  }

  Value *c64(int64_t v) { return ConstantInt::get(i64, v); }
  Value *splat(float v) { return ConstantFP::get(vecTy, v); }

  /// A <W x i1> mask of the first `lanes` lanes.
  Constant *laneMask(int lanes) {
    std::vector<Constant *> bits;
    for (int i = 0; i < W; ++i)
      bits.push_back(ConstantInt::get(i1, i < lanes ? 1 : 0));
    return ConstantVector::get(bits);
  }

  /// Loads `lanes` floats at p as a vector (the rest zero).
  Value *loadVec(IRBuilderBase &b, Value *p, int lanes) {
    if (lanes >= W)
      return b.CreateAlignedLoad(vecTy, p, Align(4));
    return b.CreateMaskedLoad(vecTy, p, Align(4), laneMask(lanes),
                              Constant::getNullValue(vecTy));
  }
  void storeVec(IRBuilderBase &b, Value *v, Value *p, int lanes) {
    if (lanes >= W)
      b.CreateAlignedStore(v, p, Align(4));
    else
      b.CreateMaskedStore(v, p, Align(4), laneMask(lanes));
  }

  /// for (iv = start; iv < end; iv += step) body(iv); leaves the builder in
  /// the exit block. The body may create blocks of its own.
  void emitLoop(IRBuilderBase &b, Value *start, Value *end, int64_t step,
                const Twine &n, const std::function<void(Value *)> &body) {
    Function *f = b.GetInsertBlock()->getParent();
    BasicBlock *pre = b.GetInsertBlock();
    BasicBlock *header = BasicBlock::Create(ctx, n + ".header", f);
    BasicBlock *bodyBB = BasicBlock::Create(ctx, n + ".body", f);
    BasicBlock *exit = BasicBlock::Create(ctx, n + ".exit", f);
    b.CreateBr(header);
    b.SetInsertPoint(header);
    PHINode *iv = b.CreatePHI(i64, 2, n);
    iv->addIncoming(start, pre);
    b.CreateCondBr(b.CreateICmpSLT(iv, end), bodyBB, exit);
    b.SetInsertPoint(bodyBB);
    body(iv);
    iv->addIncoming(b.CreateAdd(iv, c64(step)), b.GetInsertBlock());
    b.CreateBr(header);
    b.SetInsertPoint(exit);
  }

  /// if (cond) then(); leaves the builder after the if.
  void emitIf(IRBuilderBase &b, Value *cond, const Twine &n,
              const std::function<void()> &then) {
    Function *f = b.GetInsertBlock()->getParent();
    BasicBlock *thenBB = BasicBlock::Create(ctx, n + ".then", f);
    BasicBlock *done = BasicBlock::Create(ctx, n + ".done", f);
    b.CreateCondBr(cond, thenBB, done);
    b.SetInsertPoint(thenBB);
    then();
    b.CreateBr(done);
    b.SetInsertPoint(done);
  }

  // --- Micro-kernel ----------------------------------------------------===//

  /// The epilogue on one vector of C: row index `row`, first column `col`.
  Value *applyEpilogue(IRBuilderBase &b, Value *v, Value *row, Value *col,
                       Value *biasP, Value *resP, int lanes) {
    if (e.bias == GemmEpilogue::Bias::PerColumn)
      v = b.CreateFAdd(v, loadVec(b, b.CreateGEP(f32, biasP, col), lanes));
    else if (e.bias == GemmEpilogue::Bias::PerRow)
      v = b.CreateFAdd(v, b.CreateVectorSplat(
                              W, b.CreateAlignedLoad(
                                     f32, b.CreateGEP(f32, biasP, row),
                                     Align(4))));
    auto residual = [&](Value *x) {
      Value *off = b.CreateAdd(b.CreateMul(row, c64(ldr)), col);
      return b.CreateFAdd(x, loadVec(b, b.CreateGEP(f32, resP, off), lanes));
    };
    if (e.residual && !e.residualAfterActivation)
      v = residual(v);
    Value *zero = Constant::getNullValue(vecTy);
    switch (e.activation) {
    case GemmEpilogue::Activation::None:
      break;
    case GemmEpilogue::Activation::Relu:
      // v < 0 ? 0 : v keeps NaN, as PyTorch's relu does.
      v = b.CreateSelect(b.CreateFCmpOLT(v, zero), zero, v);
      break;
    case GemmEpilogue::Activation::LeakyRelu:
      v = b.CreateSelect(b.CreateFCmpOLT(v, zero),
                         b.CreateFMul(v, splat(e.leakyReluSlope)), v);
      break;
    case GemmEpilogue::Activation::Clip: {
      Value *lo = splat(e.clipMin), *hi = splat(e.clipMax);
      v = b.CreateSelect(b.CreateFCmpOLT(v, lo), lo, v);
      v = b.CreateSelect(b.CreateFCmpOGT(v, hi), hi, v);
      break;
    }
    }
    if (e.custom)
      v = e.custom(b, v, row, col);
    if (e.residual && e.residualAfterActivation)
      v = residual(v);
    return v;
  }

  /// One k step of the micro-kernel: acc[r][v] += A[r, k] * B[k, v*W..].
  void emitKStep(IRBuilderBase &b, Value *ap, Value *bp, int64_t u, int mr,
                 int nv, int lastLanes, int64_t bStride,
                 std::vector<Value *> &acc, int base = 0) {
    std::vector<Value *> bv(nv);
    for (int v = 0; v < nv; ++v) {
      Value *p = b.CreateConstGEP1_64(f32, bp, u * bStride + v * W);
      // Packed panels are zero-padded to NR; B read in place is not.
      int lanes = (!bl.packB && v == nv - 1) ? lastLanes : W;
      bv[v] = loadVec(b, p, lanes);
    }
    for (int r = 0; r < mr; ++r) {
      Value *a = b.CreateAlignedLoad(
          f32, b.CreateConstGEP1_64(f32, ap, u * bl.MR + r), Align(4));
      Value *as = b.CreateVectorSplat(W, a);
      for (int v = 0; v < nv; ++v)
        acc[base + r * nv + v] = b.CreateIntrinsic(
            Intrinsic::fmuladd, {vecTy}, {as, bv[v], acc[base + r * nv + v]});
    }
  }

  /// void uk(a, b, c, kc, row, col, first, last, bias, residual): C tile of
  /// mr x nr at c (row, col in C) += A micro-panel a (kc x MR, k-major) times
  /// B micro-panel b (kc rows of stride NR packed, or ldb in place).
  Function *emitMicroKernel(int mr, int nr) {
    FunctionType *ft = FunctionType::get(
        voidTy, {ptrTy, ptrTy, ptrTy, i64, i64, i64, i1, i1, ptrTy, ptrTy},
        false);
    Function *f = makeFunction(name + ".uk" + std::to_string(mr) + "x" +
                                   std::to_string(nr),
                               ft, /*internal=*/true);
    auto ai = f->arg_begin();
    Value *aArg = &*ai++, *bArg = &*ai++, *cArg = &*ai++, *kc = &*ai++,
          *row = &*ai++, *col = &*ai++, *first = &*ai++, *last = &*ai++,
          *biasP = &*ai++, *resP = &*ai++;
    const int nv = static_cast<int>(ceilDiv(nr, W));
    const int lastLanes = nr - (nv - 1) * W;
    const int64_t bStride = bl.packB ? bl.NR : ldb;
    constexpr int64_t U = 4; // k steps per main-loop iteration

    BasicBlock *entry = BasicBlock::Create(ctx, "entry", f);
    BasicBlock *mainH = BasicBlock::Create(ctx, "k.main.header", f);
    BasicBlock *mainB = BasicBlock::Create(ctx, "k.main.body", f);
    BasicBlock *remH = BasicBlock::Create(ctx, "k.rem.header", f);
    BasicBlock *remB = BasicBlock::Create(ctx, "k.rem.body", f);
    BasicBlock *store = BasicBlock::Create(ctx, "store", f);
    IRBuilder<> b(entry);

    // Bring the C tile towards L1 while the k loop runs.
    for (int r = 0; r < mr; ++r)
      for (int j = 0; j < nr; j += 16)
        b.CreateIntrinsic(Intrinsic::prefetch, {ptrTy},
                          {b.CreateConstGEP1_64(f32, cArg, r * ldc + j),
                           b.getInt32(1), b.getInt32(3), b.getInt32(1)});
    Value *kMain = b.CreateLShr(kc, 2);
    Value *kMainSteps = b.CreateMul(kMain, c64(U));
    Value *zero = Constant::getNullValue(vecTy);
    const int nacc = mr * nv;
    // Small tiles (a single row of A, a narrow N edge) have too few
    // accumulators to hide the FMA latency (about 4 cycles x 2 ports): give
    // them several sets, used by alternate k steps and summed at the end.
    const int sets = nacc >= 8 ? 1 : std::min<int>(U, ceilDiv(8, nacc));
    const int nall = nacc * sets;

    // Main loop: U k steps per iteration.
    b.CreateBr(mainH);
    b.SetInsertPoint(mainH);
    PHINode *it = b.CreatePHI(i64, 2, "it");
    PHINode *apPhi = b.CreatePHI(ptrTy, 2, "ap");
    PHINode *bpPhi = b.CreatePHI(ptrTy, 2, "bp");
    std::vector<PHINode *> accPhi(nall);
    for (int i = 0; i < nall; ++i) {
      accPhi[i] = b.CreatePHI(vecTy, 2, "acc");
      accPhi[i]->addIncoming(zero, entry);
    }
    it->addIncoming(c64(0), entry);
    apPhi->addIncoming(aArg, entry);
    bpPhi->addIncoming(bArg, entry);
    b.CreateCondBr(b.CreateICmpULT(it, kMain), mainB, remH);

    b.SetInsertPoint(mainB);
    std::vector<Value *> acc(accPhi.begin(), accPhi.end());
    for (int64_t u = 0; u < U; ++u)
      emitKStep(b, apPhi, bpPhi, u, mr, nv, lastLanes, bStride, acc,
                static_cast<int>(u % sets) * nacc);
    it->addIncoming(b.CreateAdd(it, c64(1)), mainB);
    apPhi->addIncoming(b.CreateConstGEP1_64(f32, apPhi, U * bl.MR), mainB);
    bpPhi->addIncoming(b.CreateConstGEP1_64(f32, bpPhi, U * bStride), mainB);
    for (int i = 0; i < nall; ++i)
      accPhi[i]->addIncoming(acc[i], mainB);
    b.CreateBr(mainH);

    // Remainder loop: kc % U single steps.
    b.SetInsertPoint(remH);
    PHINode *rit = b.CreatePHI(i64, 2, "rit");
    PHINode *rap = b.CreatePHI(ptrTy, 2, "rap");
    PHINode *rbp = b.CreatePHI(ptrTy, 2, "rbp");
    std::vector<PHINode *> racc(nall);
    for (int i = 0; i < nall; ++i) {
      racc[i] = b.CreatePHI(vecTy, 2, "racc");
      racc[i]->addIncoming(accPhi[i], mainH);
    }
    rit->addIncoming(kMainSteps, mainH);
    rap->addIncoming(apPhi, mainH);
    rbp->addIncoming(bpPhi, mainH);
    b.CreateCondBr(b.CreateICmpULT(rit, kc), remB, store);

    b.SetInsertPoint(remB);
    acc.assign(racc.begin(), racc.end());
    emitKStep(b, rap, rbp, 0, mr, nv, lastLanes, bStride, acc);
    rit->addIncoming(b.CreateAdd(rit, c64(1)), remB);
    rap->addIncoming(b.CreateConstGEP1_64(f32, rap, bl.MR), remB);
    rbp->addIncoming(b.CreateConstGEP1_64(f32, rbp, bStride), remB);
    for (int i = 0; i < nall; ++i)
      racc[i]->addIncoming(acc[i], remB);
    b.CreateBr(remH);

    // Store: C = alpha * acc + (first ? beta * C : C), then the epilogue on
    // the last K block.
    b.SetInsertPoint(store);
    std::vector<Value *> sum(racc.begin(), racc.begin() + nacc);
    for (int set = 1; set < sets; ++set)
      for (int i = 0; i < nacc; ++i)
        sum[i] = b.CreateFAdd(sum[i], racc[set * nacc + i]);
    auto emitStores = [&](bool epilogue) {
      for (int r = 0; r < mr; ++r) {
        Value *rowIdx = b.CreateAdd(row, c64(r));
        for (int v = 0; v < nv; ++v) {
          int lanes = v == nv - 1 ? lastLanes : W;
          Value *p = b.CreateConstGEP1_64(f32, cArg, r * ldc + v * W);
          Value *x = sum[r * nv + v];
          if (s.alpha != 1.0f)
            x = b.CreateFMul(x, splat(s.alpha));
          Value *prevFirst = nullptr;
          Value *old = nullptr;
          if (s.beta != 0.0f) {
            old = loadVec(b, p, lanes);
            prevFirst = s.beta == 1.0f ? old : b.CreateFMul(old, splat(s.beta));
          }
          if (singleK) {
            if (prevFirst)
              x = b.CreateFAdd(x, prevFirst);
          } else {
            if (!old)
              old = loadVec(b, p, lanes);
            Value *prev = b.CreateSelect(
                first, prevFirst ? prevFirst : Constant::getNullValue(vecTy),
                old);
            x = b.CreateFAdd(x, prev);
          }
          if (epilogue)
            x = applyEpilogue(b, x, rowIdx, b.CreateAdd(col, c64(v * W)),
                              biasP, resP, lanes);
          storeVec(b, x, p, lanes);
        }
      }
    };
    if (!e.any()) {
      emitStores(false);
    } else if (singleK) {
      emitStores(true);
    } else {
      BasicBlock *epiBB = BasicBlock::Create(ctx, "store.epilogue", f);
      BasicBlock *plainBB = BasicBlock::Create(ctx, "store.plain", f);
      BasicBlock *done = BasicBlock::Create(ctx, "store.done", f);
      b.CreateCondBr(last, epiBB, plainBB);
      b.SetInsertPoint(epiBB);
      emitStores(true);
      b.CreateBr(done);
      b.SetInsertPoint(plainBB);
      emitStores(false);
      b.CreateBr(done);
      b.SetInsertPoint(done);
    }
    b.CreateRetVoid();
    return f;
  }

  // --- Packing ---------------------------------------------------------===//

  /// void packA(A, dst, i0, mc, k0, kc): rows [i0, i0 + mc) and columns
  /// [k0, k0 + kc) of op(A) into MR-row panels, dst[ir * kc + k * MR + r].
  Function *emitPackA() {
    FunctionType *ft = FunctionType::get(
        voidTy, {ptrTy, ptrTy, i64, i64, i64, i64}, false);
    Function *f = makeFunction(name + ".packA", ft, true);
    auto ai = f->arg_begin();
    Value *A = &*ai++, *dst = &*ai++, *i0 = &*ai++, *mc = &*ai++,
          *k0 = &*ai++, *kc = &*ai++;
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    auto panel = [&](Value *ir, int rows) {
      Value *dstP = b.CreateGEP(f32, dst, b.CreateMul(ir, kc));
      Value *i = b.CreateAdd(i0, ir);
      // Address of op(A)[i + r, k0]; step along k.
      std::vector<Value *> src(rows);
      for (int r = 0; r < rows; ++r) {
        Value *ri = b.CreateAdd(i, c64(r));
        Value *off = s.transA ? b.CreateAdd(b.CreateMul(k0, c64(lda)), ri)
                              : b.CreateAdd(b.CreateMul(ri, c64(lda)), k0);
        src[r] = b.CreateGEP(f32, A, off);
      }
      const int64_t kStep = s.transA ? lda : 1;
      emitLoop(b, c64(0), kc, 1, "pa.k", [&](Value *k) {
        Value *d = b.CreateGEP(f32, dstP, b.CreateMul(k, c64(bl.MR)));
        Value *ko = b.CreateMul(k, c64(kStep));
        for (int r = 0; r < rows; ++r) {
          Value *x = b.CreateAlignedLoad(f32, b.CreateGEP(f32, src[r], ko),
                                         Align(4));
          b.CreateAlignedStore(x, b.CreateConstGEP1_64(f32, d, r), Align(4));
        }
      });
    };
    Value *full = b.CreateMul(b.CreateUDiv(mc, c64(bl.MR)), c64(bl.MR));
    emitLoop(b, c64(0), full, bl.MR, "pa.ir",
             [&](Value *ir) { panel(ir, static_cast<int>(bl.MR)); });
    if (int rows = static_cast<int>(s.M % bl.MR))
      emitIf(b, b.CreateICmpSLT(full, mc), "pa.edge",
             [&] { panel(full, rows); });
    b.CreateRetVoid();
    return f;
  }

  /// void packB(B, dst, k0, kc, j0, nc): rows [k0, k0 + kc) and columns
  /// [j0, j0 + nc) of op(B) into NR-column panels, zero-padded to NR,
  /// dst[jr * kc + k * NR + j].
  Function *emitPackB() {
    FunctionType *ft = FunctionType::get(
        voidTy, {ptrTy, ptrTy, i64, i64, i64, i64}, false);
    Function *f = makeFunction(name + ".packB", ft, true);
    auto ai = f->arg_begin();
    Value *B = &*ai++, *dst = &*ai++, *k0 = &*ai++, *kc = &*ai++,
          *j0 = &*ai++, *nc = &*ai++;
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    const int nvp = static_cast<int>(bl.NR / W);
    auto panel = [&](Value *jr, int cols) {
      Value *dstP = b.CreateGEP(f32, dst, b.CreateMul(jr, kc));
      Value *j = b.CreateAdd(j0, jr);
      if (!s.transB) {
        // Rows of B are contiguous along N: vector copies.
        Value *src = b.CreateGEP(
            f32, B, b.CreateAdd(b.CreateMul(k0, c64(ldb)), j));
        emitLoop(b, c64(0), kc, 1, "pb.k", [&](Value *k) {
          Value *sp = b.CreateGEP(f32, src, b.CreateMul(k, c64(ldb)));
          Value *d = b.CreateGEP(f32, dstP, b.CreateMul(k, c64(bl.NR)));
          for (int v = 0; v < nvp; ++v) {
            int lanes = std::clamp(cols - v * W, 0, W);
            Value *x = lanes == 0 ? Constant::getNullValue(vecTy)
                                  : loadVec(b, b.CreateConstGEP1_64(
                                                   f32, sp, v * W),
                                            lanes);
            b.CreateAlignedStore(x, b.CreateConstGEP1_64(f32, d, v * W),
                                 Align(4));
          }
        });
        return;
      }
      // B^T: column j of op(B) is row j of B, contiguous along K; gather
      // one element from each of the NR rows per k.
      std::vector<Value *> src(cols);
      for (int c = 0; c < cols; ++c)
        src[c] = b.CreateGEP(
            f32, B,
            b.CreateAdd(b.CreateMul(b.CreateAdd(j, c64(c)), c64(ldb)), k0));
      emitLoop(b, c64(0), kc, 1, "pb.k", [&](Value *k) {
        Value *d = b.CreateGEP(f32, dstP, b.CreateMul(k, c64(bl.NR)));
        for (int v = 0; v < nvp; ++v) {
          Value *x = Constant::getNullValue(vecTy);
          for (int l = 0; l < W && v * W + l < cols; ++l)
            x = b.CreateInsertElement(
                x,
                b.CreateAlignedLoad(f32, b.CreateGEP(f32, src[v * W + l], k),
                                    Align(4)),
                b.getInt32(l));
          b.CreateAlignedStore(x, b.CreateConstGEP1_64(f32, d, v * W),
                               Align(4));
        }
      });
    };
    Value *full = b.CreateMul(b.CreateUDiv(nc, c64(bl.NR)), c64(bl.NR));
    emitLoop(b, c64(0), full, bl.NR, "pb.jr",
             [&](Value *jr) { panel(jr, static_cast<int>(bl.NR)); });
    if (int cols = static_cast<int>(s.N % bl.NR))
      emitIf(b, b.CreateICmpSLT(full, nc), "pb.edge",
             [&] { panel(full, cols); });
    b.CreateRetVoid();
    return f;
  }

  // --- Driver ----------------------------------------------------------===//

  /// Work is split along M (in MR rows) or N (in NR columns), whichever has
  /// more tiles.
  bool splitM() const { return ceilDiv(s.M, bl.MR) >= ceilDiv(s.N, bl.NR); }
  int64_t units() const {
    return splitM() ? ceilDiv(s.M, bl.MR) : ceilDiv(s.N, bl.NR);
  }
  int64_t maxTasks() const {
    if (!opts.parallel)
      return 1;
    int64_t work = s.M * s.N * s.K;
    return std::max<int64_t>(1, std::min(units(), work / kMinTaskWork));
  }

  StructType *contextType() {
    // A, B, C, bias, residual, scratch, chunk (units per task), slotted.
    return StructType::get(ctx, {ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy,
                                 i64, i64});
  }

  /// void body(ctx, begin, end): tasks [begin, end) of the split.
  Function *emitBody(Function *packA, Function *packB,
                     Function *const uk[2][2]) {
    FunctionType *ft = FunctionType::get(voidTy, {ptrTy, i64, i64}, false);
    Function *f = makeFunction(name + ".task", ft, true);
    auto ai = f->arg_begin();
    Value *ctxP = &*ai++, *begin = &*ai++, *end = &*ai++;
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    StructType *ct = contextType();
    auto field = [&](unsigned i, Type *t) {
      return b.CreateLoad(t, b.CreateStructGEP(ct, ctxP, i));
    };
    Value *A = field(0, ptrTy), *B = field(1, ptrTy), *C = field(2, ptrTy),
          *biasP = field(3, ptrTy), *resP = field(4, ptrTy),
          *scratch = field(5, ptrTy), *chunk = field(6, i64),
          *slotted = field(7, i64);

    // Packing memory of this thread.
    const int64_t bytes = scratchBytes();
    Value *stackBuf = nullptr;
    if (bytes <= kMaxStackScratch) {
      AllocaInst *a = b.CreateAlloca(
          ArrayType::get(f32, std::max<int64_t>(bytes / 4, 16)));
      a->setAlignment(Align(64));
      stackBuf = a;
    }
    Function *fn = f;
    BasicBlock *haveScratch = BasicBlock::Create(ctx, "scratch.caller", fn);
    BasicBlock *noScratch = BasicBlock::Create(ctx, "scratch.own", fn);
    BasicBlock *run = BasicBlock::Create(ctx, "run", fn);
    b.CreateCondBr(b.CreateICmpNE(scratch, ConstantPointerNull::get(
                                              cast<PointerType>(ptrTy))),
                   haveScratch, noScratch);
    b.SetInsertPoint(haveScratch);
    Value *slotV = c64(0);
    {
      BasicBlock *ask = BasicBlock::Create(ctx, "slot.ask", fn);
      BasicBlock *got = BasicBlock::Create(ctx, "slot.done", fn);
      BasicBlock *from = b.GetInsertBlock();
      b.CreateCondBr(b.CreateICmpNE(slotted, c64(0)), ask, got);
      b.SetInsertPoint(ask);
      Value *asked = b.CreateCall(
          mod.getOrInsertFunction("tcpu_thread_slot",
                                  FunctionType::get(i64, false)),
          {});
      b.CreateBr(got);
      b.SetInsertPoint(got);
      PHINode *p = b.CreatePHI(i64, 2, "slot");
      p->addIncoming(c64(0), from);
      p->addIncoming(asked, ask);
      slotV = p;
    }
    Value *fromCaller =
        b.CreateGEP(b.getInt8Ty(), scratch, b.CreateMul(slotV, c64(bytes)));
    BasicBlock *haveEnd = b.GetInsertBlock();
    b.CreateBr(run);
    b.SetInsertPoint(noScratch);
    Value *own = stackBuf;
    if (!own)
      own = b.CreateCall(
          mod.getOrInsertFunction("tcpu_thread_scratch",
                                  FunctionType::get(ptrTy, {i64}, false)),
          {c64(bytes)});
    BasicBlock *ownEnd = b.GetInsertBlock();
    b.CreateBr(run);
    b.SetInsertPoint(run);
    PHINode *base = b.CreatePHI(ptrTy, 2, "scratch");
    base->addIncoming(fromCaller, haveEnd);
    base->addIncoming(own, ownEnd);
    Value *Ap = base;
    Value *Bp = b.CreateConstGEP1_64(f32, base, apFloats);

    const bool byM = splitM();
    const int64_t unitSize = byM ? bl.MR : bl.NR;
    const int64_t extent = byM ? s.M : s.N;
    emitLoop(b, begin, end, 1, "task", [&](Value *t) {
      Value *lo = b.CreateMul(b.CreateMul(t, chunk), c64(unitSize));
      Value *hi = b.CreateBinaryIntrinsic(
          Intrinsic::smin, b.CreateAdd(lo, b.CreateMul(chunk, c64(unitSize))),
          c64(extent));
      Value *m0 = byM ? lo : c64(0), *m1 = byM ? hi : c64(s.M);
      Value *n0 = byM ? c64(0) : lo, *n1 = byM ? c64(s.N) : hi;
      emitTile(b, A, B, C, biasP, resP, Ap, Bp, m0, m1, n0, n1, packA, packB,
               uk);
    });
    b.CreateRetVoid();
    return f;
  }

  void emitTile(IRBuilderBase &b, Value *A, Value *B, Value *C, Value *biasP,
                Value *resP, Value *Ap, Value *Bp, Value *m0, Value *m1,
                Value *n0, Value *n1, Function *packA, Function *packB,
                Function *const uk[2][2]) {
    auto smin = [&](Value *x, Value *y) {
      return b.CreateBinaryIntrinsic(Intrinsic::smin, x, y);
    };
    FunctionType *ukTy = uk[0][0]->getFunctionType();
    emitLoop(b, m0, m1, bl.MC, "mc", [&](Value *mc) {
      Value *mcLen = b.CreateSub(smin(b.CreateAdd(mc, c64(bl.MC)), m1), mc);
      emitLoop(b, c64(0), c64(s.K), bl.KC, "pc", [&](Value *pc) {
        Value *kcLen = smin(c64(bl.KC), b.CreateSub(c64(s.K), pc));
        Value *first = b.CreateICmpEQ(pc, c64(0));
        Value *last = b.CreateICmpSGE(b.CreateAdd(pc, c64(bl.KC)), c64(s.K));
        b.CreateCall(packA, {A, Ap, mc, mcLen, pc, kcLen});
        emitLoop(b, n0, n1, bl.NC, "nc", [&](Value *nc) {
          Value *ncLen =
              b.CreateSub(smin(b.CreateAdd(nc, c64(bl.NC)), n1), nc);
          if (bl.packB)
            b.CreateCall(packB, {B, Bp, pc, kcLen, nc, ncLen});
          emitLoop(b, c64(0), mcLen, bl.MR, "ir", [&](Value *ir) {
            Value *aPanel = b.CreateGEP(f32, Ap, b.CreateMul(ir, kcLen));
            Value *rowFull =
                b.CreateICmpSGE(b.CreateSub(mcLen, ir), c64(bl.MR));
            Value *row = b.CreateAdd(mc, ir);
            Value *cRow = b.CreateGEP(f32, C, b.CreateMul(row, c64(ldc)));
            emitLoop(b, c64(0), ncLen, bl.NR, "jr", [&](Value *jr) {
              Value *col = b.CreateAdd(nc, jr);
              Value *bPanel =
                  bl.packB
                      ? b.CreateGEP(f32, Bp, b.CreateMul(jr, kcLen))
                      : b.CreateGEP(f32, B,
                                    b.CreateAdd(b.CreateMul(pc, c64(ldb)),
                                                col));
              Value *colFull =
                  b.CreateICmpSGE(b.CreateSub(ncLen, jr), c64(bl.NR));
              Value *fn = b.CreateSelect(
                  rowFull, b.CreateSelect(colFull, uk[0][0], uk[0][1]),
                  b.CreateSelect(colFull, uk[1][0], uk[1][1]));
              b.CreateCall(ukTy, fn,
                           {aPanel, bPanel, b.CreateGEP(f32, cRow, col),
                            kcLen, row, col, first, last, biasP, resP});
            });
          });
        });
      });
    });
  }

  /// The exported entry point.
  Function *emitEntry(Function *body) {
    FunctionType *ft = FunctionType::get(
        voidTy, {ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy}, false);
    Function *f = makeFunction(name, ft, /*internal=*/false);
    auto ai = f->arg_begin();
    std::vector<Value *> args;
    for (int i = 0; i < 6; ++i)
      args.push_back(&*ai++);
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    StructType *ct = contextType();
    Value *cp = b.CreateAlloca(ct);
    for (unsigned i = 0; i < 6; ++i)
      b.CreateStore(args[i], b.CreateStructGEP(ct, cp, i));
    const int64_t n = units(), tasks = maxTasks();
    if (tasks == 1) {
      b.CreateStore(c64(n), b.CreateStructGEP(ct, cp, 6));
      b.CreateStore(c64(0), b.CreateStructGEP(ct, cp, 7));
      b.CreateCall(body, {cp, c64(0), c64(1)});
      b.CreateRetVoid();
      return f;
    }
    Value *threads = b.CreateCall(
        mod.getOrInsertFunction("tcpu_num_threads",
                                FunctionType::get(i64, false)),
        {});
    Value *t = b.CreateBinaryIntrinsic(
        Intrinsic::smax, c64(1),
        b.CreateBinaryIntrinsic(Intrinsic::smin, threads, c64(tasks)));
    // chunk = ceil(n / t); tasks = ceil(n / chunk).
    Value *chunk = b.CreateUDiv(b.CreateAdd(c64(n - 1), t), t);
    Value *count = b.CreateUDiv(b.CreateAdd(c64(n - 1), chunk), chunk);
    b.CreateStore(chunk, b.CreateStructGEP(ct, cp, 6));
    b.CreateStore(c64(1), b.CreateStructGEP(ct, cp, 7));
    FunctionType *pfTy =
        FunctionType::get(voidTy, {i64, ptrTy, ptrTy}, false);
    b.CreateCall(mod.getOrInsertFunction("tcpu_parallel_for", pfTy),
                 {count, body, cp});
    b.CreateRetVoid();
    return f;
  }

  Function *emit() {
    const int mEdge = static_cast<int>(s.M % bl.MR);
    const int nEdge = static_cast<int>(s.N % bl.NR);
    const int MR = static_cast<int>(bl.MR), NR = static_cast<int>(bl.NR);
    Function *uk[2][2];
    uk[0][0] = emitMicroKernel(MR, NR);
    uk[0][1] = nEdge ? emitMicroKernel(MR, nEdge) : uk[0][0];
    uk[1][0] = mEdge ? emitMicroKernel(mEdge, NR) : uk[0][0];
    uk[1][1] = mEdge && nEdge ? emitMicroKernel(mEdge, nEdge)
               : mEdge        ? uk[1][0]
                              : uk[0][1];
    Function *packA = emitPackA();
    Function *packB = bl.packB ? emitPackB() : nullptr;
    Function *body = emitBody(packA, packB, uk);
    return emitEntry(body);
  }
};

} // namespace

GemmBlocking chooseGemmBlocking(const TargetDescription &target,
                                const GemmShape &s) {
  GemmBlocking bl;
  const int64_t W = std::max(1, target.f32VectorWidth);
  const int64_t R = target.vectorRegisters > 0 ? target.vectorRegisters : 16;
  // Micro-tile: MR x nv vectors of accumulators, plus nv vectors of B and
  // one broadcast of A must fit the registers. Take the most accumulators
  // (they amortize the loads) among shapes doing at least 1.2 FMAs per load
  // (MR broadcasts + nv vector loads feed MR * nv FMAs), and on a tie the
  // fewest vectors across N (narrow panels waste less at the N edge).
  int64_t bestAcc = 0;
  for (bool needIntensity : {true, false}) {
    for (int64_t nv = 1; nv <= 4 && (nv == 1 || W > 1); ++nv) {
      int64_t mr = std::min<int64_t>((R - 1 - nv) / nv, 16);
      if (mr < 1)
        continue;
      int64_t accs = mr * nv;
      if (needIntensity && accs * 10 < 12 * (mr + nv))
        continue;
      if (accs > bestAcc) {
        bestAcc = accs;
        bl.MR = mr;
        bl.NR = nv * W;
      }
    }
    if (bestAcc > 0)
      break;
  }
  // KC: an A micro-panel (MR x KC) fills about half of L1, leaving room
  // for the B micro-panel lines streaming through.
  const int64_t kcMax = std::clamp<int64_t>(
      roundDown(target.l1dCacheBytes / 2 / (bl.MR * 4), 8), 64, 512);
  if (s.K <= kcMax * 5 / 4)
    bl.KC = s.K;
  else
    bl.KC = roundUp(ceilDiv(s.K, ceilDiv(s.K, kcMax)), 8);
  // NC: the packed B block (KC x NC) fills about half of L2.
  const int64_t ncMax = std::max(
      bl.NR, roundDown(target.l2CacheBytes / 2 / (bl.KC * 4), bl.NR));
  const int64_t nPadded = roundUp(s.N, bl.NR);
  if (nPadded <= ncMax * 5 / 4)
    bl.NC = nPadded;
  else
    bl.NC = roundUp(ceilDiv(s.N, ceilDiv(s.N, ncMax)), bl.NR);
  // MC: the packed A block (MC x KC) takes at most a quarter of L3 (shared
  // with the other cores) and no more than a few thousand rows.
  const int64_t mcMax = std::clamp<int64_t>(
      roundDown(target.l3CacheBytes / 4 / (bl.KC * 4), bl.MR), bl.MR,
      roundDown(4096, bl.MR));
  const int64_t mPadded = roundUp(s.M, bl.MR);
  bl.MC = mPadded <= mcMax ? mPadded
                           : roundUp(ceilDiv(s.M, ceilDiv(s.M, mcMax)), bl.MR);
  // With a few rows of A, each element of B is used a few times: copying B
  // would cost about as much as the product. Read it in place instead
  // (possible when its rows run along N).
  bl.packB = s.transB || s.M > 2 * bl.MR;
  if (!bl.packB) {
    // B streams from memory once per row panel and A is tiny: no K
    // blocking, and for fewer rows than a micro-tile a wider tile of
    // exactly M rows, whose longer contiguous runs of B help prefetching.
    bl.KC = s.K;
    if (s.M < bl.MR) {
      bl.MR = s.M;
      bl.NR = std::clamp<int64_t>((R - 1) / (bl.MR + 1), 1, 8) * W;
    }
    bl.MC = roundUp(s.M, bl.MR);
    bl.NC = roundUp(s.N, bl.NR);
  }
  return bl;
}

absl::StatusOr<GemmKernel> emitGemmFunction(llvm::Module &module,
                                            const TargetDescription &target,
                                            const GemmShape &shape,
                                            const GemmEpilogue &epilogue,
                                            const std::string &name,
                                            const GemmOptions &options) {
  const GemmShape &s = shape;
  if (s.M <= 0 || s.N <= 0 || s.K <= 0)
    return absl::InvalidArgumentError(
        "gemm: sizes must be positive, got M=" + std::to_string(s.M) +
        " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K));
  auto checkLd = [](const char *what, int64_t ld, int64_t min)
      -> absl::Status {
    if (ld != 0 && ld < min)
      return absl::InvalidArgumentError(std::string("gemm: ") + what + "=" +
                                        std::to_string(ld) +
                                        " is less than the row length " +
                                        std::to_string(min));
    return absl::OkStatus();
  };
  if (auto st = checkLd("lda", s.lda, s.transA ? s.M : s.K); !st.ok())
    return st;
  if (auto st = checkLd("ldb", s.ldb, s.transB ? s.K : s.N); !st.ok())
    return st;
  if (auto st = checkLd("ldc", s.ldc, s.N); !st.ok())
    return st;
  if (auto st = checkLd("ldr", epilogue.ldr, s.N); !st.ok())
    return st;
  if (module.getFunction(name))
    return absl::AlreadyExistsError("gemm: function '" + name +
                                    "' already exists in the module");

  GemmBlocking bl = options.blocking ? *options.blocking
                                     : chooseGemmBlocking(target, shape);
  const int64_t W = std::max(1, target.f32VectorWidth);
  if (bl.MR <= 0 || bl.NR <= 0 || bl.NR % W != 0 || bl.KC <= 0 ||
      bl.MC <= 0 || bl.MC % bl.MR != 0 || bl.NC <= 0 || bl.NC % bl.NR != 0)
    return absl::InvalidArgumentError(
        "gemm: invalid blocking (MR, NR > 0, NR a multiple of the vector "
        "width, MC a multiple of MR, NC of NR)");
  if (!bl.packB && s.transB)
    return absl::InvalidArgumentError(
        "gemm: B can only be read in place without transB");

  GemmEmitter em(module, target, shape, epilogue, bl, options, name);
  GemmKernel k;
  k.function = em.emit();
  k.blocking = bl;
  k.scratchBytesPerThread = em.scratchBytes();
  return k;
}

} // namespace tcpu
