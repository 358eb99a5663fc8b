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
// Compile time is the price of a generated GEMM (LLVM spends most of it on
// the unrolled micro-kernels), so code is shared between the call sites of
// a module wherever it would be the same. Sizes, leading dimensions, cache
// blocks and the thread split are run-time parameters: a constant table
// per call site, passed by its entry point (a two-line wrapper). The
// driver (entry, task loop, packing) depends only on the micro-tile, the
// transposes and whether B is packed: it calls the micro-kernels through
// the table. The micro-kernels are named by what shapes their code (tile
// size, alpha, beta, epilogue, whether K fits one block) and emitted on
// demand: full MR x NR tiles, and at the M and N edges (M % MR rows, N % NR
// columns) tiles of exactly their height and vector count, the last vector
// masked by a run-time lane count. A constant operand may be packed once at
// compile time (prepackA/prepackB): the driver then only computes where its
// block's panels are.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "ir/IntMath.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Metadata.h"
#include "llvm/IR/Module.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace tcpu {

namespace {

using namespace llvm;

/// Stack packing buffers up to this size; larger ones come from the caller's
/// scratch or tcpu_thread_scratch (TBB worker stacks are a few MB).
constexpr int64_t kMaxStackScratch = 32 * 1024;
/// Multiply-adds a task should have at least to be worth a thread.
constexpr int64_t kMinTaskWork = int64_t(1) << 16;

/// The run-time parameters of a core, one i64 each, in this order.
enum Param : unsigned {
  kM, kN, kK, kLda, kLdb, kLdc, kLdr, kMC, kKC, kNC,
  kMaxTasks,     // tasks worth a thread (1: no tcpu_parallel_for)
  kSplitM,       // 1: tasks split M in MR rows, 0: N in NR columns
  kUnits,        // MR-row (or NR-column) units of the split dimension
  kScratchBytes, // packing memory of one thread
  kApFloats,     // where packed B starts in it
  kEdgeLanes,    // lanes of the last vector at the N edge (1..W)
  kParamCount
};
/// After the parameters, the table holds the micro-kernels of the shape's
/// tiles: full MR x NR tiles, the N edge (MR rows), the M edge (all NR
/// columns), the corner; null when the shape has no such tile.
enum EdgeKernel : unsigned { kFull, kNEdge, kMEdge, kCorner, kEdgeKernelCount };

/// What shapes the code of a core (everything else is a parameter).
struct CoreKey {
  GemmBlocking bl; // only MR, NR, packB matter
  bool transA = false, transB = false;
  float alpha = 1, beta = 0;
  GemmEpilogue e;
  bool parallel = true;
  bool singleK = false; // K <= KC: every micro-kernel call is first and last
  bool prepackedA = false, prepackedB = false; // GemmOptions

  /// The driver (entry, task loop, packing): it calls the micro-kernels
  /// through the call site's table, so the epilogue does not enter here.
  std::string driverName() const {
    return "tcpu.gemm." + std::to_string(bl.MR) + "x" + std::to_string(bl.NR) +
           (bl.packB ? "p" : "i") + (transA ? "T" : "N") + (transB ? "T" : "N") +
           (prepackedA ? ".pa" : "") + (prepackedB ? ".pb" : "") +
           (parallel ? ".par" : ".seq");
  }
  /// The prefix of the micro-kernels: they read packed A (MR-row panels)
  /// and packed or in-place B, and store through alpha, beta, the epilogue.
  std::string kernelPrefix() const {
    auto bits = [](float f) {
      uint32_t u;
      std::memcpy(&u, &f, 4);
      return std::to_string(u);
    };
    std::string n = "tcpu.gemm." + std::to_string(bl.MR) + "x" +
                    std::to_string(bl.NR) + (bl.packB ? "p" : "i") + ".a" +
                    bits(alpha) + ".b" + bits(beta) + ".e" +
                    std::to_string(int(e.bias)) +
                    std::to_string(int(e.activation));
    if (e.activation == GemmEpilogue::Activation::LeakyRelu)
      n += "_" + bits(e.leakyReluSlope);
    if (e.activation == GemmEpilogue::Activation::Clip)
      n += "_" + bits(e.clipMin) + "_" + bits(e.clipMax);
    if (e.residual)
      n += e.residualAfterActivation ? ".ra" : ".rb";
    if (e.custom)
      n += ".c" + e.customKey;
    n += singleK ? ".k1" : ".kn";
    return n;
  }
};

struct GemmEmitter {
  Module &mod;
  LLVMContext &ctx;
  const TargetDescription &tgt;
  CoreKey key;
  const GemmBlocking &bl;
  const GemmEpilogue &e;
  std::string name;   // of the driver
  std::string ukName; // prefix of the micro-kernels

  int W = 1;
  Type *f32 = nullptr, *i64 = nullptr, *i32 = nullptr, *i1 = nullptr,
       *ptrTy = nullptr, *voidTy = nullptr;
  FixedVectorType *vecTy = nullptr;
  int nv = 1; // vectors across a micro-tile (NR / W)

  GemmEmitter(Module &m, const TargetDescription &t, const CoreKey &k,
              const std::string &driver, const std::string &kernels)
      : mod(m), ctx(m.getContext()), tgt(t), key(k), bl(key.bl), e(key.e),
        name(driver), ukName(kernels) {
    W = std::max(1, t.f32VectorWidth);
    f32 = Type::getFloatTy(ctx);
    i64 = Type::getInt64Ty(ctx);
    i32 = Type::getInt32Ty(ctx);
    i1 = Type::getInt1Ty(ctx);
    ptrTy = PointerType::get(ctx, 0);
    voidTy = Type::getVoidTy(ctx);
    vecTy = FixedVectorType::get(f32, W);
    nv = static_cast<int>(bl.NR / W);
  }

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
  Value *smin(IRBuilderBase &b, Value *x, Value *y) {
    return b.CreateBinaryIntrinsic(Intrinsic::smin, x, y);
  }
  /// n rounded up to a multiple of the constant m.
  Value *padded(IRBuilderBase &b, Value *n, int64_t m) {
    return b.CreateMul(b.CreateUDiv(b.CreateAdd(n, c64(m - 1)), c64(m)), c64(m));
  }

  /// A <W x i1> mask of the lanes below `lanes` (an i64, clamped to W).
  Value *laneMask(IRBuilderBase &b, Value *lanes) {
    std::vector<Constant *> iota;
    for (int i = 0; i < W; ++i)
      iota.push_back(ConstantInt::get(i32, i));
    Value *n = b.CreateTrunc(smin(b, lanes, c64(W)), i32);
    return b.CreateICmpSLT(ConstantVector::get(iota), b.CreateVectorSplat(W, n));
  }

  /// Loads a vector at p; under `mask` (null: all lanes) the rest is zero.
  Value *loadVec(IRBuilderBase &b, Value *p, Value *mask) {
    if (!mask)
      return b.CreateAlignedLoad(vecTy, p, Align(4));
    return b.CreateMaskedLoad(vecTy, p, Align(4), mask,
                              Constant::getNullValue(vecTy));
  }
  void storeVec(IRBuilderBase &b, Value *v, Value *p, Value *mask) {
    if (!mask)
      b.CreateAlignedStore(v, p, Align(4));
    else
      b.CreateMaskedStore(v, p, Align(4), mask);
  }

  /// for (iv = start; iv < end; iv += step) body(iv); leaves the builder in
  /// the exit block. The body may create blocks of its own.
  void emitLoop(IRBuilderBase &b, Value *start, Value *end, Value *step,
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
    iv->addIncoming(b.CreateAdd(iv, step), b.GetInsertBlock());
    b.CreateBr(header)->setMetadata(LLVMContext::MD_loop, plainLoop());
    b.SetInsertPoint(exit);
  }

  /// Loop metadata: neither vectorize nor unroll. These loops (blocks,
  /// tiles, packing) call the micro-kernels or copy a few floats per
  /// iteration: LLVM's vectorizer and unroller would only cost compile time
  /// (interleaved-access code for the strided packing copies above all).
  MDNode *plainLoop() {
    Metadata *noVec[] = {MDString::get(ctx, "llvm.loop.vectorize.enable"),
                         ConstantAsMetadata::get(ConstantInt::getFalse(ctx))};
    Metadata *noUnroll[] = {MDString::get(ctx, "llvm.loop.unroll.disable")};
    Metadata *ops[] = {nullptr, MDNode::get(ctx, noVec),
                       MDNode::get(ctx, noUnroll)};
    MDNode *id = MDNode::getDistinct(ctx, ops);
    id->replaceOperandWith(0, id);
    return id;
  }
  void emitLoop(IRBuilderBase &b, Value *start, Value *end, int64_t step,
                const Twine &n, const std::function<void(Value *)> &body) {
    emitLoop(b, start, end, c64(step), n, body);
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

  /// The epilogue on one vector of C: row index `row`, first column `col`;
  /// `mask` (null: all) the lanes that exist.
  Value *applyEpilogue(IRBuilderBase &b, Value *v, Value *row, Value *col,
                       Value *biasP, Value *resP, Value *ldr, Value *mask) {
    if (e.bias == GemmEpilogue::Bias::PerColumn)
      v = b.CreateFAdd(v, loadVec(b, b.CreateGEP(f32, biasP, col), mask));
    else if (e.bias == GemmEpilogue::Bias::PerRow)
      v = b.CreateFAdd(v, b.CreateVectorSplat(
                              W, b.CreateAlignedLoad(
                                     f32, b.CreateGEP(f32, biasP, row),
                                     Align(4))));
    auto residual = [&](Value *x) {
      Value *off = b.CreateAdd(b.CreateMul(row, ldr), col);
      return b.CreateFAdd(x, loadVec(b, b.CreateGEP(f32, resP, off), mask));
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
      v = e.custom(b, v, row, col, mask, resP);
    if (e.residual && e.residualAfterActivation)
      v = residual(v);
    return v;
  }

  /// One k step of the micro-kernel: acc[r][v] += A[r, k] * B[k, v*W..].
  /// `lastMask` (null: none) masks the last of the nvv vectors of B (B read
  /// in place at the N edge; packed panels are zero-padded to NR).
  void emitKStep(IRBuilderBase &b, Value *ap, Value *bp, int64_t u, int mr,
                 int nvv, Value *lastMask, Value *bStride,
                 std::vector<Value *> &acc, int base = 0) {
    std::vector<Value *> bv(nvv);
    Value *row = b.CreateGEP(f32, bp, b.CreateMul(c64(u), bStride));
    for (int v = 0; v < nvv; ++v)
      bv[v] = loadVec(b, b.CreateConstGEP1_64(f32, row, v * W),
                      v == nvv - 1 ? lastMask : nullptr);
    for (int r = 0; r < mr; ++r) {
      Value *a = b.CreateAlignedLoad(
          f32, b.CreateConstGEP1_64(f32, ap, u * bl.MR + r), Align(4));
      Value *as = b.CreateVectorSplat(W, a);
      for (int v = 0; v < nvv; ++v)
        acc[base + r * nvv + v] = b.CreateIntrinsic(
            Intrinsic::fmuladd, {vecTy}, {as, bv[v], acc[base + r * nvv + v]});
    }
  }

  FunctionType *microKernelType() {
    return FunctionType::get(voidTy,
                             {ptrTy, ptrTy, ptrTy, i64, i64, i64, i1, i1, ptrTy,
                              ptrTy, i64, i64, i64, i64},
                             false);
  }

  /// The micro-kernel of mr rows and nvv vectors (the last masked when
  /// `masked`) with this key's epilogue, emitted on first use.
  Function *microKernel(int mr, int nvv, bool masked) {
    std::string n = ukName + ".uk" + std::to_string(mr) + "x" +
                    std::to_string(nvv) + (masked ? "m" : "");
    if (Function *f = mod.getFunction(n))
      return f;
    return emitMicroKernel(n, mr, nvv, masked);
  }

  /// void uk(a, b, c, kc, row, col, first, last, bias, residual, ldc,
  /// bStride, ldr, lanes): the C tile of mr rows x nvv vectors at c (row,
  /// col in C) += A micro-panel a (kc steps of MR floats) times B
  /// micro-panel b (kc rows of bStride floats). When `masked`, only `lanes`
  /// lanes (1..W) of the last vector exist.
  Function *emitMicroKernel(const std::string &n, int mr, int nvv,
                            bool masked) {
    Function *f = makeFunction(n, microKernelType(), /*internal=*/true);
    auto ai = f->arg_begin();
    Value *aArg = &*ai++, *bArg = &*ai++, *cArg = &*ai++, *kc = &*ai++,
          *row = &*ai++, *col = &*ai++, *first = &*ai++, *last = &*ai++,
          *biasP = &*ai++, *resP = &*ai++, *ldc = &*ai++, *bStride = &*ai++,
          *ldr = &*ai++, *lanes = &*ai++;
    constexpr int64_t U = 4; // k steps per main-loop iteration

    BasicBlock *entry = BasicBlock::Create(ctx, "entry", f);
    BasicBlock *mainH = BasicBlock::Create(ctx, "k.main.header", f);
    BasicBlock *mainB = BasicBlock::Create(ctx, "k.main.body", f);
    BasicBlock *remH = BasicBlock::Create(ctx, "k.rem.header", f);
    BasicBlock *remB = BasicBlock::Create(ctx, "k.rem.body", f);
    BasicBlock *store = BasicBlock::Create(ctx, "store", f);
    IRBuilder<> b(entry);

    Value *lastMask = masked ? laneMask(b, lanes) : nullptr;
    // B read in place is not padded: mask its loads at the edge.
    Value *bMask = bl.packB ? nullptr : lastMask;
    std::vector<Value *> cRows(mr);
    for (int r = 0; r < mr; ++r)
      cRows[r] = b.CreateGEP(f32, cArg, b.CreateMul(c64(r), ldc));
    // Bring the C tile towards L1 while the k loop runs.
    for (int r = 0; r < mr; ++r)
      for (int j = 0; j < nvv * W; j += 16)
        b.CreateIntrinsic(Intrinsic::prefetch, {ptrTy},
                          {b.CreateConstGEP1_64(f32, cRows[r], j),
                           b.getInt32(1), b.getInt32(3), b.getInt32(1)});
    Value *kMain = b.CreateLShr(kc, 2);
    Value *kMainSteps = b.CreateMul(kMain, c64(U));
    Value *zero = Constant::getNullValue(vecTy);
    const int nacc = mr * nvv;
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
      emitKStep(b, apPhi, bpPhi, u, mr, nvv, bMask, bStride, acc,
                static_cast<int>(u % sets) * nacc);
    it->addIncoming(b.CreateAdd(it, c64(1)), mainB);
    apPhi->addIncoming(b.CreateConstGEP1_64(f32, apPhi, U * bl.MR), mainB);
    bpPhi->addIncoming(b.CreateGEP(f32, bpPhi, b.CreateMul(c64(U), bStride)),
                       mainB);
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
    emitKStep(b, rap, rbp, 0, mr, nvv, bMask, bStride, acc);
    rit->addIncoming(b.CreateAdd(rit, c64(1)), remB);
    rap->addIncoming(b.CreateConstGEP1_64(f32, rap, bl.MR), remB);
    rbp->addIncoming(b.CreateGEP(f32, rbp, bStride), remB);
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
        for (int v = 0; v < nvv; ++v) {
          Value *mask = v == nvv - 1 ? lastMask : nullptr;
          Value *p = b.CreateConstGEP1_64(f32, cRows[r], v * W);
          Value *x = sum[r * nvv + v];
          if (key.alpha != 1.0f)
            x = b.CreateFMul(x, splat(key.alpha));
          Value *prevFirst = nullptr;
          Value *old = nullptr;
          if (key.beta != 0.0f) {
            old = loadVec(b, p, mask);
            prevFirst =
                key.beta == 1.0f ? old : b.CreateFMul(old, splat(key.beta));
          }
          if (key.singleK) {
            if (prevFirst)
              x = b.CreateFAdd(x, prevFirst);
          } else {
            if (!old)
              old = loadVec(b, p, mask);
            Value *prev = b.CreateSelect(
                first, prevFirst ? prevFirst : Constant::getNullValue(vecTy),
                old);
            x = b.CreateFAdd(x, prev);
          }
          if (epilogue)
            x = applyEpilogue(b, x, rowIdx, b.CreateAdd(col, c64(v * W)),
                              biasP, resP, ldr, mask);
          storeVec(b, x, p, mask);
        }
      }
    };
    if (!e.any()) {
      emitStores(false);
    } else if (key.singleK) {
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

  /// void packA(A, dst, i0, mc, k0, kc, lda): rows [i0, i0 + mc) and
  /// columns [k0, k0 + kc) of op(A) into MR-row panels, dst[ir * kc + k *
  /// MR + r]. Rows of the last panel past mc are left unset: the
  /// micro-kernels of the M edge never read them.
  Function *emitPackA() {
    FunctionType *ft = FunctionType::get(
        voidTy, {ptrTy, ptrTy, i64, i64, i64, i64, i64}, false);
    Function *f = makeFunction(name + ".packA", ft, true);
    auto ai = f->arg_begin();
    Value *A = &*ai++, *dst = &*ai++, *i0 = &*ai++, *mc = &*ai++,
          *k0 = &*ai++, *kc = &*ai++, *lda = &*ai++;
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    // Address of op(A)[i, k0]; one step along k.
    auto rowStart = [&](Value *i) {
      Value *off = key.transA ? b.CreateAdd(b.CreateMul(k0, lda), i)
                              : b.CreateAdd(b.CreateMul(i, lda), k0);
      return b.CreateGEP(f32, A, off);
    };
    Value *kStep = key.transA ? lda : c64(1);
    Value *full = b.CreateMul(b.CreateUDiv(mc, c64(bl.MR)), c64(bl.MR));
    emitLoop(b, c64(0), full, bl.MR, "pa.ir", [&](Value *ir) {
      Value *dstP = b.CreateGEP(f32, dst, b.CreateMul(ir, kc));
      Value *i = b.CreateAdd(i0, ir);
      std::vector<Value *> src(bl.MR);
      for (int64_t r = 0; r < bl.MR; ++r)
        src[r] = rowStart(b.CreateAdd(i, c64(r)));
      emitLoop(b, c64(0), kc, 1, "pa.k", [&](Value *k) {
        Value *d = b.CreateGEP(f32, dstP, b.CreateMul(k, c64(bl.MR)));
        Value *ko = b.CreateMul(k, kStep);
        for (int64_t r = 0; r < bl.MR; ++r) {
          Value *x = b.CreateAlignedLoad(f32, b.CreateGEP(f32, src[r], ko),
                                         Align(4));
          b.CreateAlignedStore(x, b.CreateConstGEP1_64(f32, d, r), Align(4));
        }
      });
    });
    // The partial panel, one row at a time.
    Value *dstP = b.CreateGEP(f32, dst, b.CreateMul(full, kc));
    emitLoop(b, c64(0), b.CreateSub(mc, full), 1, "pa.r", [&](Value *r) {
      Value *src = rowStart(b.CreateAdd(b.CreateAdd(i0, full), r));
      emitLoop(b, c64(0), kc, 1, "pa.rk", [&](Value *k) {
        Value *x = b.CreateAlignedLoad(
            f32, b.CreateGEP(f32, src, b.CreateMul(k, kStep)), Align(4));
        b.CreateAlignedStore(
            x, b.CreateGEP(f32, dstP, b.CreateAdd(b.CreateMul(k, c64(bl.MR)), r)),
            Align(4));
      });
    });
    b.CreateRetVoid();
    return f;
  }

  /// void packB(B, dst, k0, kc, j0, nc, ldb): rows [k0, k0 + kc) and
  /// columns [j0, j0 + nc) of op(B) into NR-column panels, zero-padded to
  /// NR, dst[jr * kc + k * NR + j].
  Function *emitPackB() {
    FunctionType *ft = FunctionType::get(
        voidTy, {ptrTy, ptrTy, i64, i64, i64, i64, i64}, false);
    Function *f = makeFunction(name + ".packB", ft, true);
    auto ai = f->arg_begin();
    Value *B = &*ai++, *dst = &*ai++, *k0 = &*ai++, *kc = &*ai++,
          *j0 = &*ai++, *nc = &*ai++, *ldb = &*ai++;
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    // cols: null for a full panel, else the run-time column count (< NR).
    auto panel = [&](Value *jr, Value *cols) {
      Value *dstP = b.CreateGEP(f32, dst, b.CreateMul(jr, kc));
      Value *j = b.CreateAdd(j0, jr);
      if (!key.transB) {
        // Rows of B are contiguous along N: vector copies.
        std::vector<Value *> masks(nv, nullptr);
        if (cols)
          for (int v = 0; v < nv; ++v)
            masks[v] = laneMask(
                b, b.CreateBinaryIntrinsic(Intrinsic::smax,
                                           b.CreateSub(cols, c64(v * W)),
                                           c64(0)));
        Value *src = b.CreateGEP(f32, B, b.CreateAdd(b.CreateMul(k0, ldb), j));
        emitLoop(b, c64(0), kc, 1, "pb.k", [&](Value *k) {
          Value *sp = b.CreateGEP(f32, src, b.CreateMul(k, ldb));
          Value *d = b.CreateGEP(f32, dstP, b.CreateMul(k, c64(bl.NR)));
          for (int v = 0; v < nv; ++v) {
            Value *x = loadVec(b, b.CreateConstGEP1_64(f32, sp, v * W), masks[v]);
            b.CreateAlignedStore(x, b.CreateConstGEP1_64(f32, d, v * W),
                                 Align(4));
          }
        });
        return;
      }
      // B^T: column j of op(B) is row j of B, contiguous along K.
      if (cols) {
        // The edge: zeros, then the columns there are one at a time.
        b.CreateMemSet(dstP, b.getInt8(0), b.CreateMul(kc, c64(bl.NR * 4)),
                       MaybeAlign(4));
        emitLoop(b, c64(0), cols, 1, "pb.c", [&](Value *c) {
          Value *src = b.CreateGEP(
              f32, B, b.CreateAdd(b.CreateMul(b.CreateAdd(j, c), ldb), k0));
          emitLoop(b, c64(0), kc, 1, "pb.ck", [&](Value *k) {
            Value *x = b.CreateAlignedLoad(f32, b.CreateGEP(f32, src, k),
                                           Align(4));
            b.CreateAlignedStore(
                x,
                b.CreateGEP(f32, dstP, b.CreateAdd(b.CreateMul(k, c64(bl.NR)), c)),
                Align(4));
          });
        });
        return;
      }
      // A full panel: gather one element from each of the NR rows per k.
      std::vector<Value *> src(bl.NR);
      for (int64_t c = 0; c < bl.NR; ++c)
        src[c] = b.CreateGEP(
            f32, B, b.CreateAdd(b.CreateMul(b.CreateAdd(j, c64(c)), ldb), k0));
      emitLoop(b, c64(0), kc, 1, "pb.k", [&](Value *k) {
        Value *d = b.CreateGEP(f32, dstP, b.CreateMul(k, c64(bl.NR)));
        for (int v = 0; v < nv; ++v) {
          Value *x = Constant::getNullValue(vecTy);
          for (int l = 0; l < W; ++l)
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
             [&](Value *jr) { panel(jr, nullptr); });
    emitIf(b, b.CreateICmpSLT(full, nc), "pb.edge",
           [&] { panel(full, b.CreateSub(nc, full)); });
    b.CreateRetVoid();
    return f;
  }

  // --- Driver ----------------------------------------------------------===//

  /// The context of a task: A, B, C, bias, residual, scratch, chunk (units
  /// per task), slotted (scratch indexed by thread slot), params.
  StructType *contextType() {
    return StructType::get(ctx, {ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy,
                                 i64, i64, ptrTy});
  }

  /// Run-time parameters, loaded once per function.
  struct Params {
    Value *M, *N, *K, *lda, *ldb, *ldc, *ldr, *MC, *KC, *NC, *splitM,
        *scratchBytes, *apFloats, *edgeLanes;
    Value *edge[kEdgeKernelCount];
  };
  Params loadParams(IRBuilderBase &b, Value *p) {
    auto at = [&](Param i) {
      return b.CreateAlignedLoad(i64, b.CreateConstGEP1_64(i64, p, i), Align(8));
    };
    Params r{at(kM),      at(kN),      at(kK),           at(kLda),
             at(kLdb),    at(kLdc),    at(kLdr),         at(kMC),
             at(kKC),     at(kNC),     at(kSplitM),      at(kScratchBytes),
             at(kApFloats), at(kEdgeLanes), {}};
    // Pointers are 8 bytes, like the i64 before them.
    for (unsigned k = 0; k < kEdgeKernelCount; ++k)
      r.edge[k] = b.CreateAlignedLoad(
          ptrTy, b.CreateConstGEP1_64(ptrTy, p, kParamCount + k), Align(8));
    return r;
  }

  /// void body(ctx, begin, end): tasks [begin, end) of the split.
  Function *emitBody(Function *packA, Function *packB) {
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
    Params p = loadParams(b, field(8, ptrTy));

    // Packing memory of this thread: the caller's (one slot per thread),
    // else the stack when small enough, else tcpu_thread_scratch.
    AllocaInst *stackBuf =
        b.CreateAlloca(ArrayType::get(f32, kMaxStackScratch / 4));
    stackBuf->setAlignment(Align(64));
    BasicBlock *haveScratch = BasicBlock::Create(ctx, "scratch.caller", f);
    BasicBlock *noScratch = BasicBlock::Create(ctx, "scratch.own", f);
    BasicBlock *heap = BasicBlock::Create(ctx, "scratch.heap", f);
    BasicBlock *run = BasicBlock::Create(ctx, "run", f);
    b.CreateCondBr(b.CreateICmpNE(scratch, ConstantPointerNull::get(
                                              cast<PointerType>(ptrTy))),
                   haveScratch, noScratch);
    b.SetInsertPoint(haveScratch);
    Value *slot = b.CreateSelect(
        b.CreateICmpNE(slotted, c64(0)),
        b.CreateCall(mod.getOrInsertFunction("tcpu_thread_slot",
                                             FunctionType::get(i64, false)),
                     {}),
        c64(0));
    Value *fromCaller = b.CreateGEP(b.getInt8Ty(), scratch,
                                    b.CreateMul(slot, p.scratchBytes));
    b.CreateBr(run);
    b.SetInsertPoint(noScratch);
    b.CreateCondBr(b.CreateICmpSLE(p.scratchBytes, c64(kMaxStackScratch)), run,
                   heap);
    b.SetInsertPoint(heap);
    Value *own = b.CreateCall(
        mod.getOrInsertFunction("tcpu_thread_scratch",
                                FunctionType::get(ptrTy, {i64}, false)),
        {p.scratchBytes});
    b.CreateBr(run);
    b.SetInsertPoint(run);
    PHINode *base = b.CreatePHI(ptrTy, 3, "scratch");
    base->addIncoming(fromCaller, haveScratch);
    base->addIncoming(stackBuf, noScratch);
    base->addIncoming(own, heap);
    Value *Ap = base;
    Value *Bp = b.CreateGEP(f32, base, p.apFloats);

    Value *byM = b.CreateICmpNE(p.splitM, c64(0));
    Value *unitSize = b.CreateSelect(byM, c64(bl.MR), c64(bl.NR));
    Value *extent = b.CreateSelect(byM, p.M, p.N);
    emitLoop(b, begin, end, 1, "task", [&](Value *t) {
      Value *lo = b.CreateMul(b.CreateMul(t, chunk), unitSize);
      Value *hi = smin(b, b.CreateAdd(lo, b.CreateMul(chunk, unitSize)), extent);
      Value *m0 = b.CreateSelect(byM, lo, c64(0));
      Value *m1 = b.CreateSelect(byM, hi, p.M);
      Value *n0 = b.CreateSelect(byM, c64(0), lo);
      Value *n1 = b.CreateSelect(byM, p.N, hi);
      emitTile(b, p, A, B, C, biasP, resP, Ap, Bp, m0, m1, n0, n1, packA,
               packB);
    });
    b.CreateRetVoid();
    return f;
  }

  void emitTile(IRBuilderBase &b, const Params &p, Value *A, Value *B,
                Value *C, Value *biasP, Value *resP, Value *Ap, Value *Bp,
                Value *m0, Value *m1, Value *n0, Value *n1, Function *packA,
                Function *packB) {
    FunctionType *ukTy = microKernelType();
    Value *bStride = bl.packB ? c64(bl.NR) : p.ldb;
    emitLoop(b, m0, m1, p.MC, "mc", [&](Value *mc) {
      Value *mcLen = b.CreateSub(smin(b, b.CreateAdd(mc, p.MC), m1), mc);
      emitLoop(b, c64(0), p.K, p.KC, "pc", [&](Value *pc) {
        Value *kcLen = smin(b, p.KC, b.CreateSub(p.K, pc));
        Value *first = b.CreateICmpEQ(pc, c64(0));
        Value *last = b.CreateICmpSGE(b.CreateAdd(pc, p.KC), p.K);
        // Prepacked operands: the block's panels in the whole packed
        // matrix (K block pc of Mpad x kc floats, then mc rows in).
        Value *aBlock =
            key.prepackedA
                ? b.CreateGEP(f32, A,
                              b.CreateAdd(b.CreateMul(pc, padded(b, p.M, bl.MR)),
                                          b.CreateMul(mc, kcLen)))
                : Ap;
        if (!key.prepackedA)
          b.CreateCall(packA, {A, Ap, mc, mcLen, pc, kcLen, p.lda});
        emitLoop(b, n0, n1, p.NC, "nc", [&](Value *nc) {
          Value *ncLen = b.CreateSub(smin(b, b.CreateAdd(nc, p.NC), n1), nc);
          Value *bBlock =
              key.prepackedB
                  ? b.CreateGEP(f32, B,
                                b.CreateAdd(
                                    b.CreateMul(pc, padded(b, p.N, bl.NR)),
                                    b.CreateMul(nc, kcLen)))
                  : Bp;
          if (bl.packB && !key.prepackedB)
            b.CreateCall(packB, {B, Bp, pc, kcLen, nc, ncLen, p.ldb});
          Value *nFull = b.CreateMul(b.CreateUDiv(ncLen, c64(bl.NR)), c64(bl.NR));
          // One row of tiles at packed row `panel`: `full` where all NR
          // columns exist, `edge` at the N edge.
          auto rowOfTiles = [&](Value *full, Value *edge, Value *panel) {
            Value *aPanel =
                b.CreateGEP(f32, aBlock, b.CreateMul(panel, kcLen));
            Value *row = b.CreateAdd(mc, panel);
            Value *cRow = b.CreateGEP(f32, C, b.CreateMul(row, p.ldc));
            auto call = [&](Value *fn, Value *jr) {
              Value *col = b.CreateAdd(nc, jr);
              Value *bPanel =
                  bl.packB ? b.CreateGEP(f32, bBlock, b.CreateMul(jr, kcLen))
                           : b.CreateGEP(f32, B,
                                         b.CreateAdd(b.CreateMul(pc, p.ldb),
                                                     col));
              b.CreateCall(ukTy, fn,
                           {aPanel, bPanel, b.CreateGEP(f32, cRow, col), kcLen,
                            row, col, first, last, biasP, resP, p.ldc, bStride,
                            p.ldr, p.edgeLanes});
            };
            emitLoop(b, c64(0), nFull, bl.NR, "jr",
                     [&](Value *jr) { call(full, jr); });
            emitIf(b, b.CreateICmpSLT(nFull, ncLen), "jr.edge",
                   [&] { call(edge, nFull); });
          };
          Value *mFull = b.CreateMul(b.CreateUDiv(mcLen, c64(bl.MR)), c64(bl.MR));
          emitLoop(b, c64(0), mFull, bl.MR, "ir", [&](Value *ir) {
            rowOfTiles(p.edge[kFull], p.edge[kNEdge], ir);
          });
          // The last M % MR rows.
          emitIf(b, b.CreateICmpSLT(mFull, mcLen), "ir.edge", [&] {
            rowOfTiles(p.edge[kMEdge], p.edge[kCorner], mFull);
          });
        });
      });
    });
  }

  /// void core(A, B, C, bias, residual, scratch, params).
  Function *emitCore(Function *body) {
    FunctionType *ft = FunctionType::get(
        voidTy, {ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy}, false);
    Function *f = makeFunction(name, ft, /*internal=*/true);
    auto ai = f->arg_begin();
    std::vector<Value *> args;
    for (int i = 0; i < 7; ++i)
      args.push_back(&*ai++);
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    StructType *ct = contextType();
    Value *cp = b.CreateAlloca(ct);
    for (unsigned i = 0; i < 6; ++i)
      b.CreateStore(args[i], b.CreateStructGEP(ct, cp, i));
    b.CreateStore(args[6], b.CreateStructGEP(ct, cp, 8));
    auto param = [&](Param i) {
      return b.CreateAlignedLoad(i64, b.CreateConstGEP1_64(i64, args[6], i),
                                 Align(8));
    };
    Value *units = param(kUnits), *maxTasks = param(kMaxTasks);
    auto direct = [&] {
      b.CreateStore(units, b.CreateStructGEP(ct, cp, 6));
      b.CreateStore(c64(0), b.CreateStructGEP(ct, cp, 7));
      b.CreateCall(body, {cp, c64(0), c64(1)});
    };
    if (!key.parallel) {
      direct();
      b.CreateRetVoid();
      return f;
    }
    BasicBlock *one = BasicBlock::Create(ctx, "one", f);
    BasicBlock *many = BasicBlock::Create(ctx, "many", f);
    BasicBlock *done = BasicBlock::Create(ctx, "done", f);
    b.CreateCondBr(b.CreateICmpSLE(maxTasks, c64(1)), one, many);
    b.SetInsertPoint(one);
    direct();
    b.CreateBr(done);
    b.SetInsertPoint(many);
    Value *threads = b.CreateCall(
        mod.getOrInsertFunction("tcpu_num_threads",
                                FunctionType::get(i64, false)),
        {});
    Value *t = b.CreateBinaryIntrinsic(Intrinsic::smax, c64(1),
                                       smin(b, threads, maxTasks));
    // chunk = ceil(units / t); tasks = ceil(units / chunk).
    Value *chunk = b.CreateUDiv(b.CreateAdd(b.CreateSub(units, c64(1)), t), t);
    Value *count =
        b.CreateUDiv(b.CreateAdd(b.CreateSub(units, c64(1)), chunk), chunk);
    b.CreateStore(chunk, b.CreateStructGEP(ct, cp, 6));
    b.CreateStore(c64(1), b.CreateStructGEP(ct, cp, 7));
    FunctionType *pfTy = FunctionType::get(voidTy, {i64, ptrTy, ptrTy}, false);
    b.CreateCall(mod.getOrInsertFunction("tcpu_parallel_for", pfTy),
                 {count, body, cp});
    b.CreateBr(done);
    b.SetInsertPoint(done);
    b.CreateRetVoid();
    return f;
  }

  Function *emit() {
    Function *packA = key.prepackedA ? nullptr : emitPackA();
    Function *packB = bl.packB && !key.prepackedB ? emitPackB() : nullptr;
    Function *body = emitBody(packA, packB);
    return emitCore(body);
  }
};

} // namespace

GemmBlocking chooseGemmBlocking(const TargetDescription &target,
                                const GemmShape &s, bool prepackedB) {
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
  // (possible when its rows run along N). Prepacked B costs nothing to
  // pack, and its panels of the whole K are as contiguous as B in place.
  const bool smallM = (!s.transB || prepackedB) && s.M <= 2 * bl.MR;
  bl.packB = prepackedB || !smallM;
  if (smallM) {
    // B streams from memory once per row panel and A is tiny: no K
    // blocking, and for fewer rows than a micro-tile a wider tile of
    // exactly M rows, whose longer contiguous runs of B help prefetching.
    bl.KC = s.K;
    if (s.M < bl.MR) {
      bl.MR = s.M;
      bl.NR = std::clamp<int64_t>((R - 1) / (bl.MR + 1), 1, 8) * W;
    }
    // Prepacked panels are padded to NR columns: no wider than N needs.
    if (prepackedB)
      bl.NR = std::min(bl.NR, roundUp(s.N, W));
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

  GemmBlocking bl = options.blocking
                        ? *options.blocking
                        : chooseGemmBlocking(target, shape, options.prepackedB);
  if (options.prepackedB)
    bl.packB = true; // the panels are there already
  const int64_t W = std::max(1, target.f32VectorWidth);
  if (bl.MR <= 0 || bl.NR <= 0 || bl.NR % W != 0 || bl.KC <= 0 ||
      bl.MC <= 0 || bl.MC % bl.MR != 0 || bl.NC <= 0 || bl.NC % bl.NR != 0)
    return absl::InvalidArgumentError(
        "gemm: invalid blocking (MR, NR > 0, NR a multiple of the vector "
        "width, MC a multiple of MR, NC of NR)");
  if (!bl.packB && s.transB)
    return absl::InvalidArgumentError(
        "gemm: B can only be read in place without transB");

  // The driver and micro-kernels: shared by the call sites of the module
  // with the same keys.
  CoreKey key;
  key.bl = bl;
  key.transA = s.transA;
  key.transB = s.transB;
  key.alpha = s.alpha;
  key.beta = s.beta;
  key.e = epilogue;
  key.parallel = options.parallel;
  key.singleK = s.K <= bl.KC;
  key.prepackedA = options.prepackedA;
  key.prepackedB = options.prepackedB;
  const std::string coreName = key.driverName();
  std::string kernels = key.kernelPrefix();
  if (epilogue.custom && epilogue.customKey.empty())
    kernels = name; // unknown code: never shared
  GemmEmitter em(module, target, key, coreName, kernels);
  llvm::Function *core = module.getFunction(coreName);
  if (!core)
    core = em.emit();
  // The micro-kernels of this shape's edge tiles.
  const int mEdge = static_cast<int>(s.M % bl.MR);
  const int64_t nEdgeCols = s.N % bl.NR;
  const int nvv = static_cast<int>(ceilDiv(nEdgeCols, W));
  const int nv = static_cast<int>(bl.NR / W);
  const int mr = static_cast<int>(bl.MR);
  const bool fullRows = s.M >= bl.MR, fullCols = s.N >= bl.NR;
  llvm::Function *edges[kEdgeKernelCount] = {
      fullRows && fullCols ? em.microKernel(mr, nv, false) : nullptr,
      fullRows && nEdgeCols ? em.microKernel(mr, nvv, true) : nullptr,
      mEdge && fullCols ? em.microKernel(mEdge, nv, false) : nullptr,
      nEdgeCols && mEdge ? em.microKernel(mEdge, nvv, true) : nullptr};

  // This call site's parameters.
  const int64_t lda = s.lda ? s.lda : (s.transA ? s.M : s.K);
  const int64_t ldb = s.ldb ? s.ldb : (s.transB ? s.K : s.N);
  const int64_t ldc = s.ldc ? s.ldc : s.N;
  const int64_t ldr = epilogue.ldr ? epilogue.ldr : s.N;
  // Packed A: MC rows (rounded to MR) x KC; packed B: KC x NC (NC is a
  // multiple of NR). Both start 64-byte aligned.
  const int64_t apFloats =
      options.prepackedA
          ? 0
          : roundUp(std::min(bl.MC, roundUp(s.M, bl.MR)) * std::min(bl.KC, s.K),
                    16);
  const int64_t bpFloats =
      bl.packB && !options.prepackedB
          ? roundUp(std::min(bl.KC, s.K) * std::min(bl.NC, roundUp(s.N, bl.NR)),
                    16)
          : 0;
  const bool splitM = ceilDiv(s.M, bl.MR) >= ceilDiv(s.N, bl.NR);
  const int64_t units = splitM ? ceilDiv(s.M, bl.MR) : ceilDiv(s.N, bl.NR);
  const int64_t maxTasks =
      options.parallel
          ? std::max<int64_t>(1, std::min(units, s.M * s.N * s.K / kMinTaskWork))
          : 1;
  std::vector<uint64_t> params(kParamCount);
  params[kM] = s.M;
  params[kN] = s.N;
  params[kK] = s.K;
  params[kLda] = lda;
  params[kLdb] = ldb;
  params[kLdc] = ldc;
  params[kLdr] = ldr;
  params[kMC] = bl.MC;
  params[kKC] = bl.KC;
  params[kNC] = bl.NC;
  params[kMaxTasks] = maxTasks;
  params[kSplitM] = splitM;
  params[kUnits] = units;
  params[kScratchBytes] = (apFloats + bpFloats) * 4;
  params[kApFloats] = apFloats;
  params[kEdgeLanes] = nEdgeCols ? nEdgeCols - (nvv - 1) * W : W;
  llvm::LLVMContext &c = module.getContext();
  llvm::Type *ptrTy = llvm::PointerType::get(c, 0);
  std::vector<llvm::Constant *> fields = {
      llvm::ConstantDataArray::get(c, params)};
  for (llvm::Function *edge : edges)
    fields.push_back(edge ? static_cast<llvm::Constant *>(edge)
                          : llvm::ConstantPointerNull::get(
                                llvm::cast<llvm::PointerType>(ptrTy)));
  llvm::Constant *init = llvm::ConstantStruct::getAnon(fields);
  auto *table = new llvm::GlobalVariable(module, init->getType(), true,
                                         llvm::GlobalValue::PrivateLinkage,
                                         init, name + ".params");
  table->setAlignment(llvm::Align(8));

  // The entry point: void name(A, B, C, bias, residual, scratch).
  auto *ft = llvm::FunctionType::get(llvm::Type::getVoidTy(c),
                                     std::vector<llvm::Type *>(6, ptrTy), false);
  llvm::Function *f = llvm::Function::Create(
      ft, llvm::GlobalValue::ExternalLinkage, name, module);
  f->addFnAttrs(llvm::AttrBuilder(c, core->getAttributes().getFnAttrs()));
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(c, "entry", f));
  std::vector<llvm::Value *> args;
  for (llvm::Argument &a : f->args())
    args.push_back(&a);
  args.push_back(table);
  b.CreateCall(core, args);
  b.CreateRetVoid();

  GemmKernel k;
  k.function = f;
  k.blocking = bl;
  k.scratchBytesPerThread = (apFloats + bpFloats) * 4;
  return k;
}

int64_t prepackedAFloats(const GemmShape &s, const GemmBlocking &bl) {
  return roundUp(s.M, bl.MR) * s.K;
}

int64_t prepackedBFloats(const GemmShape &s, const GemmBlocking &bl) {
  return roundUp(s.N, bl.NR) * s.K;
}

namespace {
/// Panels of `panel` rows (columns) of op(X) [rows x K], element (i, k) at
/// X[i * rowStep + k * kStep]: the layout of prepackA/prepackB.
void prepackPanels(const float *X, int64_t rows, int64_t K, int64_t rowStep,
                   int64_t kStep, int64_t panel, int64_t KC, float *dst) {
  const int64_t padded = roundUp(rows, panel);
  for (int64_t pc = 0; pc < K; pc += KC) {
    const int64_t kc = std::min(KC, K - pc);
    float *block = dst + pc * padded;
    for (int64_t i = 0; i < padded; ++i) {
      float *d = block + i / panel * panel * kc + i % panel;
      if (i >= rows) {
        for (int64_t k = 0; k < kc; ++k)
          d[k * panel] = 0.0f;
        continue;
      }
      const float *src = X + i * rowStep + pc * kStep;
      for (int64_t k = 0; k < kc; ++k)
        d[k * panel] = src[k * kStep];
    }
  }
}
} // namespace

void prepackA(const float *A, const GemmShape &s, const GemmBlocking &bl,
              float *dst) {
  // op(A)[i, k] is A[i * lda + k], or A[k * lda + i] with transA.
  const int64_t lda = s.lda ? s.lda : (s.transA ? s.M : s.K);
  prepackPanels(A, s.M, s.K, s.transA ? 1 : lda, s.transA ? lda : 1, bl.MR,
                bl.KC, dst);
}

void prepackB(const float *B, const GemmShape &s, const GemmBlocking &bl,
              float *dst) {
  // op(B)[k, j] is B[k * ldb + j], or B[j * ldb + k] with transB.
  const int64_t ldb = s.ldb ? s.ldb : (s.transB ? s.K : s.N);
  prepackPanels(B, s.N, s.K, s.transB ? ldb : 1, s.transB ? 1 : ldb, bl.NR,
                bl.KC, dst);
}

} // namespace tcpu
